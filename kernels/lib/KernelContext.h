//===- KernelContext.h - What every kernel kind emits with ------*- C++ -*-===//
//
// The state of one kernel being emitted (its function, buffers, builder and
// target configuration), the value emitter every kind shares, and the kind
// interface with its factory.
//
// The value emitter computes any graph value of the kernel at a multi-index:
// a leaf is a load, an elementwise op is its `buildScalar` on its operands'
// values at the same index, a view is its `buildElement`. Before computing,
// it consults what the kind's code provides: the anchor's result at the
// current site (`provided`), values that hold for the whole row a workgroup
// computes (`rowValues`), and a kind's own hook (`anchorAt`). Every "site"
// (the code that handles one element of the kernel's iteration space) has its
// own memo, so a value read twice at one index is computed once.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_KERNELS_LIB_KERNELCONTEXT_H
#define KILN_KERNELS_LIB_KERNELCONTEXT_H

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/Kernels/KernelEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallSet.h"

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace kiln::kernels {

using Index = llvm::SmallVector<mlir::Value, 4>;

int64_t product(llvm::ArrayRef<int64_t> extents);
llvm::ArrayRef<int64_t> shapeOf(mlir::Value value);

class KernelContext {
public:
  KernelContext(mlir::func::FuncOp kernel, const TargetConfig &config);

  //===--------------------------------------------------------------------===//
  // The kernel
  //===--------------------------------------------------------------------===//

  mlir::func::FuncOp kernel;
  const TargetConfig &config;
  mlir::OpBuilder b;
  mlir::Location loc;
  /// The kind as plans name it, for messages.
  std::string kindName;
  /// The gpu.func's buffers: `outputs[i]` for returned value i, `inputs[i]` for argument i.
  llvm::SmallVector<mlir::Value> inputs, outputs, returned;
  /// The workgroup memory the kind asked for, in order.
  llvm::SmallVector<mlir::Value, 2> workgroupBuffers;
  /// The launch the kind chose.
  std::array<uint32_t, 3> workgroup = {1, 1, 1}, grid = {1, 1, 1};

  //===--------------------------------------------------------------------===//
  // The CPU form (TargetConfig::cpu): one thread runs tiles [tileBegin, tileEnd)
  //===--------------------------------------------------------------------===//

  bool cpu() const { return config.cpu; }
  /// The call's tile range (index values) and its per-thread scratch (!llvm.ptr).
  mlir::Value tileBegin, tileEnd, scratch;
  /// How many tiles the kind split its work into, and the scratch bytes it needs per thread.
  int64_t tileCount = 0;
  int64_t scratchBytes = 0;
  /// The loop over the call's tiles linearGroup made (reductions, rows), widened to vectors
  /// of adjacent tiles once the kind has written its body.
  mlir::scf::ForOp tileLoop;

  mlir::Block &body() { return kernel.getBody().front(); }

  //===--------------------------------------------------------------------===//
  // Small builders
  //===--------------------------------------------------------------------===//

  mlir::Value index(int64_t value);
  mlir::Value f32(double value);
  mlir::Value linearize(llvm::ArrayRef<mlir::Value> idx, llvm::ArrayRef<int64_t> shape);
  Index delinearize(mlir::Value linear, llvm::ArrayRef<int64_t> shape);
  /// The loop index `loopIdx` through `map` (dimensions and constants only).
  mlir::FailureOr<Index> applyMap(mlir::AffineMap map, llvm::ArrayRef<mlir::Value> loopIdx,
                                  mlir::Operation *where);
  /// The combination of two terms, and the identity it starts from.
  mlir::Value combine(graph::Combiner combiner, mlir::Value lhs, mlir::Value rhs);
  mlir::Value identity(graph::Combiner combiner);
  /// The thread's index in its workgroup (x): gpu.thread_id, or 0 on the CPU.
  mlir::Value threadId();
  /// A power of two of threads covering `extent`, within the configuration's range.
  int64_t reductionThreads(int64_t extent) const;
  /// A grid of `count` workgroups: x up to the limit, the rest in y.
  std::array<uint32_t, 3> gridFor(int64_t count) const;
  /// The workgroup's linear index in a gridFor grid; when the grid has more groups than
  /// `count`, the insertion point moves into a branch the surplus groups skip (uniform in a
  /// workgroup, so barriers stay uniform). On the CPU, each of `count` groups is a tile: the
  /// insertion point moves into a loop over the call's tiles and the index is its variable.
  mlir::Value linearGroup(int64_t count);
  /// A tree combination of `value` over the workgroup's `threads` through the first
  /// workgroup buffer; returns the total (valid in every thread after the final barrier).
  /// One thread (the CPU) has its value as the total.
  mlir::Value workgroupReduce(mlir::Value value, mlir::Value thread, int64_t threads,
                              graph::Combiner combiner);
  /// Moves the insertion point into a branch taken by thread 0 only (on the CPU, where there
  /// is one thread, it stays).
  void onFirstThread(mlir::Value thread);

  //===--------------------------------------------------------------------===//
  // The value emitter
  //===--------------------------------------------------------------------===//

  /// Starts the code for one element: values are memoized per site.
  void beginSite(Index idx, llvm::ArrayRef<int64_t> shape, mlir::Value linear);
  const Index &siteIndex() const { return siteIdx_; }
  /// `value` at `idx`, built at the insertion point (memoized per site).
  mlir::FailureOr<mlir::Value> at(mlir::Value value, llvm::ArrayRef<mlir::Value> idx);
  /// Stores returned values `results` at the current site: every value is computed (every
  /// load done) before the first store, so an output may share memory with an input.
  mlir::LogicalResult storeResults(llvm::ArrayRef<unsigned> results,
                                   llvm::ArrayRef<mlir::Value> idx);
  /// Returned values that (transitively) depend on any of `roots`' results (or, with
  /// `depend` false, that do not).
  llvm::SmallVector<unsigned> resultsDependingOn(llvm::ArrayRef<mlir::Operation *> roots,
                                                 bool depend);

  /// The anchor's result at the current site only.
  llvm::DenseMap<mlir::Value, mlir::Value> provided;
  /// Values that hold at every index of the row the workgroup computes (row statistics).
  llvm::DenseMap<mlir::Value, mlir::Value> rowValues;
  /// A kind's own values at an index (row results); std::nullopt defers to the emitter.
  std::function<std::optional<mlir::FailureOr<mlir::Value>>(mlir::Value,
                                                            llvm::ArrayRef<mlir::Value>)>
      anchorAt;

  //===--------------------------------------------------------------------===//
  // In-place analysis
  //===--------------------------------------------------------------------===//

  /// Arguments read other than element by element at the thread's own index (matmul tiles,
  /// whole rows): never in place.
  llvm::SmallSet<unsigned, 4> directReads;
  /// (output binding, input binding) pairs where every store to the output is at the element
  /// index the same thread loaded from the input.
  llvm::SmallVector<std::pair<uint32_t, uint32_t>> inPlacePairs();

private:
  mlir::Value load(mlir::BlockArgument leaf, llvm::ArrayRef<mlir::Value> idx);
  mlir::FailureOr<mlir::Value> compute(mlir::Value value, llvm::ArrayRef<mlir::Value> idx);

  std::map<std::pair<void *, std::vector<void *>>, mlir::Value> memo_;
  int site_ = 0;
  Index siteIdx_;
  llvm::SmallVector<int64_t> siteShape_;
  mlir::Value siteLinear_;
  llvm::DenseMap<unsigned, llvm::SmallVector<std::pair<int, bool>>> loads_;
  llvm::DenseMap<unsigned, llvm::SmallSet<int, 4>> stores_;
  llvm::SmallSet<unsigned, 4> nonCanonicalStores_;
};

/// Starts `context` on its kernel: the kind's name and the returned values; then the flat
/// buffer type of every returned value and argument (f32 stays, i32 and i1 are 32-bit
/// words), after checking every value of the kernel has f32, i32 or i1 elements. `target`
/// names the target in errors ("a GPU target", "the CPU target").
mlir::FailureOr<llvm::SmallVector<mlir::MemRefType>>
prepareKernel(KernelContext &context, graph::KernelAttr info, llvm::StringRef target);

/// A matmul kernel's contraction: loops (batch..., m, n, k); lhs reads (m, k) or, transposed,
/// (k, m); rhs (k, n) or (n, k). Its operands are kernel arguments. For a convolution op
/// (`conv` set) the batch is the group, m, n, k the geometry's rows, cols and depth, lhs and
/// rhs the geometry's A and B, read (and the result written) through the geometry's index
/// (implicit GEMM, ConvGeometry.h); batchShape is empty and the transposes unused.
struct Contraction {
  mlir::Operation *op = nullptr;
  mlir::Value product;
  llvm::ArrayRef<int64_t> resultShape, batchShape;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool transposeLhs = false, transposeRhs = false;
  mlir::BlockArgument lhs, rhs;
  std::optional<graph::ConvGeometry> conv;
};

/// ConvGeometry's index arithmetic (its `Math`) on MLIR index values, at the builder's
/// insertion point; multiplications and divisions by 1 emit nothing.
struct IndexMath {
  using Value = mlir::Value;
  using Bool = mlir::Value;
  mlir::OpBuilder &b;
  mlir::Location loc;

  Value constant(int64_t value);
  Value add(Value lhs, Value rhs);
  Value sub(Value lhs, Value rhs);
  Value mul(Value lhs, int64_t rhs);
  Value div(Value lhs, int64_t rhs);
  Value rem(Value lhs, int64_t rhs);
  Bool inRange(Value value, int64_t limit);
  Bool isZero(Value value);
  Bool all(Bool lhs, Bool rhs);
  Bool yes();
  /// The row-major offset of `idx` in `shape`.
  Value ravel(llvm::ArrayRef<Value> idx, llvm::ArrayRef<int64_t> shape);
};

/// The contraction of the matmul kernel in `context`; an error when there is none or its
/// operands are computed inside the kernel.
mlir::FailureOr<Contraction> findContraction(KernelContext &context);

/// One kernel kind: the workgroup memory it needs and the body it emits.
class KernelKindEmitter {
public:
  virtual ~KernelKindEmitter() = default;
  /// Sizes (f32 elements) of the workgroup buffers the kind uses, in order.
  virtual llvm::SmallVector<int64_t> workgroupMemory(const KernelContext &context) const {
    return {};
  }
  /// Emits the body at the context's insertion point and sets its workgroup and grid.
  virtual mlir::LogicalResult emit(KernelContext &context) = 0;
};

/// The emitter of `kind`; null for kinds that are not formed from kernel functions.
std::unique_ptr<KernelKindEmitter> createKindEmitter(graph::KernelKind kind);

std::unique_ptr<KernelKindEmitter> createPointwiseEmitter();
std::unique_ptr<KernelKindEmitter> createMultiTensorEmitter();
std::unique_ptr<KernelKindEmitter> createMatmulEmitter();
std::unique_ptr<KernelKindEmitter> createReductionEmitter();
std::unique_ptr<KernelKindEmitter> createRowEmitter();
std::unique_ptr<KernelKindEmitter> createAttentionEmitter(); // AttentionKernel.cpp

/// A memref of `type` (1-D, static) over the buffer at `pointer` (an !llvm.ptr) in a CPU
/// kernel: a memref descriptor cast to the memref type, which the LLVM lowering folds away.
mlir::Value cpuMemRef(mlir::OpBuilder &b, mlir::Location loc, mlir::Value pointer,
                      mlir::MemRefType type);

/// The CPU matmul: packed, register-tiled, its epilogue on the accumulators
/// (CpuMatmulKernel.cpp).
mlir::LogicalResult emitCpuMatmul(KernelContext &context);

/// Splits `loop` (a scf.for of step 1 without results, whose body holds only scalar arith,
/// math and memref load/store ops, and nested scf.for loops with uniform bounds) into a loop of
/// `lanes`-wide vectors over the first (count / lanes) * lanes iterations and the original scalar
/// loop over the rest. Each vector lane computes exactly what the scalar iteration does: loads and
/// stores at the induction variable plus a uniform offset become contiguous vector accesses, other
/// varying addresses gathers and scatters. Returns false (and changes nothing) when the body holds
/// an op it cannot widen.
bool vectorizeCpuLoop(mlir::OpBuilder &b, mlir::scf::ForOp loop, int64_t lanes);

/// The grid-stride loop over every result of the kernel, grouped by shape into segments
/// (pointwise and multi-tensor kernels).
mlir::LogicalResult emitSegmentedGridStride(KernelContext &context);

/// Item `i` of a mask conversion: word i of the packed mask (`pack`) or element i of the
/// word mask, from `input` into `output` (1-D i32 memrefs) for a `count`-element mask.
void emitMaskConversionItem(mlir::OpBuilder &b, mlir::Location loc, mlir::Value output,
                            mlir::Value input, mlir::Value i, int64_t count, bool pack);

/// Sets the launch attributes of an emitted gpu.func.
void setLaunchAttributes(mlir::gpu::GPUFuncOp function, std::array<uint32_t, 3> workgroup,
                         std::array<uint32_t, 3> grid,
                         llvm::ArrayRef<std::pair<uint32_t, uint32_t>> inPlace);

} // namespace kiln::kernels

#endif // KILN_KERNELS_LIB_KERNELCONTEXT_H
