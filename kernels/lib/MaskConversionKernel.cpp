//===- MaskConversionKernel.cpp - i1 masks between host and kernel layout -===//
//
// The plan stores i1 inputs and outputs one byte per element; kernels keep one
// 32-bit word per element. Codegen adds one grid-stride conversion at each i1
// boundary: unpack reads byte i of the packed words, pack builds word i from
// elements 4i..4i+3 (least significant byte first).
//
//===----------------------------------------------------------------------===//

#include "KernelContext.h"

#include <algorithm>

using namespace mlir;

namespace kiln::kernels {

void emitMaskConversionItem(OpBuilder &b, Location loc, Value output, Value input, Value i,
                            int64_t count, bool pack) {
  auto index = [&](int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v).getResult(); };
  auto i32 = [&](int64_t v) { return b.create<arith::ConstantIntOp>(loc, v, 32).getResult(); };
  if (pack) {
    // Word i holds mask elements 4i..4i+3, one byte each, least significant first.
    Value word = i32(0);
    for (int64_t j = 0; j < 4; ++j) {
      Value element =
          b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, i, index(4)), index(j));
      Value inside = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, element, index(count));
      Value safe = b.create<arith::SelectOp>(loc, inside, element, index(0));
      Value loaded = b.create<memref::LoadOp>(loc, input, safe);
      Value set = b.create<arith::AndIOp>(
          loc, inside, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, loaded, i32(0)));
      Value bit = b.create<arith::SelectOp>(loc, set, i32(int64_t{1} << (8 * j)), i32(0));
      word = b.create<arith::OrIOp>(loc, word, bit);
    }
    b.create<memref::StoreOp>(loc, word, output, i);
  } else {
    Value word = b.create<memref::LoadOp>(loc, input,
                                          b.create<arith::DivUIOp>(loc, i, index(4)).getResult());
    Value shift = b.create<arith::MulIOp>(
        loc,
        b.create<arith::IndexCastOp>(loc, b.getI32Type(),
                                     b.create<arith::RemUIOp>(loc, i, index(4))),
        i32(8));
    Value byte = b.create<arith::AndIOp>(loc, b.create<arith::ShRUIOp>(loc, word, shift), i32(255));
    Value value = b.create<arith::ExtUIOp>(
        loc, b.getI32Type(), b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, byte, i32(0)));
    b.create<memref::StoreOp>(loc, value, output, i);
  }
}

FailureOr<EmittedKernel> emitMaskConversion(MLIRContext *context, Location loc,
                                            llvm::StringRef name, int64_t count, bool pack,
                                            const TargetConfig &config) {
  OpBuilder b(context);
  auto moduleOp = ModuleOp::create(loc);
  EmittedKernel result;
  result.module = OwningOpRef<ModuleOp>(moduleOp);
  b.setInsertionPointToStart(moduleOp.getBody());
  auto gpuModule = b.create<gpu::GPUModuleOp>(loc, "kernels");
  b.setInsertionPointToStart(gpuModule.getBody());
  int64_t packedWords = (count + 3) / 4;
  auto wordsType = MemRefType::get({count}, b.getI32Type());
  auto packedType = MemRefType::get({packedWords}, b.getI32Type());
  auto function = b.create<gpu::GPUFuncOp>(
      loc, name,
      b.getFunctionType(pack ? TypeRange{packedType, wordsType} : TypeRange{wordsType, packedType},
                        {}));
  Block &entry = function.getBody().front();
  b.setInsertionPointToStart(&entry);
  auto index = [&](int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v).getResult(); };
  int64_t workgroup = config.pointwiseWorkgroup;
  int64_t items = pack ? packedWords : count;
  int64_t groups =
      std::clamp<int64_t>((items + workgroup - 1) / workgroup, 1, config.maxGroupsPerDimension);
  Value first = b.create<arith::AddIOp>(
      loc,
      b.create<arith::MulIOp>(loc, b.create<gpu::BlockIdOp>(loc, gpu::Dimension::x),
                              index(workgroup)),
      b.create<gpu::ThreadIdOp>(loc, gpu::Dimension::x));
  auto loop = b.create<scf::ForOp>(loc, first, index(items), index(groups * workgroup));
  b.setInsertionPointToStart(loop.getBody());
  Value i = loop.getInductionVar();
  emitMaskConversionItem(b, loc, entry.getArgument(0), entry.getArgument(1), i, count, pack);
  b.setInsertionPointToEnd(&entry);
  b.create<gpu::ReturnOp>(loc);
  result.workgroupSize = {static_cast<uint32_t>(workgroup), 1, 1};
  result.groupCount = {static_cast<uint32_t>(groups), 1, 1};
  setLaunchAttributes(function, result.workgroupSize, result.groupCount, {});
  function->removeAttr(kGridAttrName);
  function->removeAttr(kInPlaceAttrName);
  result.gpuModule = gpuModule;
  return result;
}

} // namespace kiln::kernels
