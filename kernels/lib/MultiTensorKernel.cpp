//===- MultiTensorKernel.cpp - Independent pointwise kernels as one -------===//
//
// kiln-fuse merges independent pointwise kernels (every parameter's optimizer
// update) into one launch. Their results form one segment per shape of the
// pointwise grid-stride loop: a thread finds its segment by range and
// computes that segment's results at its element.
//
//===----------------------------------------------------------------------===//

#include "KernelContext.h"

using namespace mlir;

namespace kiln::kernels {
namespace {

class MultiTensorEmitter : public KernelKindEmitter {
public:
  LogicalResult emit(KernelContext &context) override { return emitSegmentedGridStride(context); }
};

} // namespace

std::unique_ptr<KernelKindEmitter> createMultiTensorEmitter() {
  return std::make_unique<MultiTensorEmitter>();
}

} // namespace kiln::kernels
