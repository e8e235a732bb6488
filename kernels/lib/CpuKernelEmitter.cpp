//===- CpuKernelEmitter.cpp - A kernel function as one CPU kernel ----------===//
//
// The CPU driver beside KernelEmitter.cpp: checks the element types, builds the public
// func.func with the CPU ABI (bindings, tile_begin, tile_end, scratch), gives every binding
// a 1-D memref view of its buffer (a memref descriptor over the loaded pointer, so the
// emitters use the same memref loads and stores as on the GPU), and lets the kind write
// the body in the context's CPU form: pointwise, multi-tensor, reduction and row kinds
// through their own emitters (one thread per workgroup, tiles for workgroups), matmul
// through the packed, register-tiled CpuMatmulKernel.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/Kernels/CpuKernelEmitter.h"

#include "KernelContext.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace kiln::kernels {

namespace {

/// The CPU function @name with `numBindings` bindings; fills `bindings` with a memref of
/// `types[i]` over binding i and sets the context's tile range and scratch. `b` is left in
/// the entry block.
func::FuncOp createFrame(OpBuilder &b, ModuleOp into, Location loc, llvm::StringRef name,
                         llvm::ArrayRef<MemRefType> types, llvm::SmallVectorImpl<Value> &bindings,
                         Value &tileBegin, Value &tileEnd, Value &scratch) {
  MLIRContext *context = into.getContext();
  b.setInsertionPointToEnd(into.getBody());
  Type ptr = LLVM::LLVMPointerType::get(context);
  Type i32 = b.getI32Type();
  auto function = b.create<func::FuncOp>(loc, name, b.getFunctionType({ptr, i32, i32, ptr}, {}));
  Block *entry = function.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (auto [index, type] : llvm::enumerate(types)) {
    Value slot = b.create<LLVM::GEPOp>(loc, ptr, ptr, entry->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(index)});
    bindings.push_back(
        cpuMemRef(b, loc, b.create<LLVM::LoadOp>(loc, ptr, slot, /*alignment=*/8), type));
  }
  tileBegin = b.create<arith::IndexCastUIOp>(loc, b.getIndexType(), entry->getArgument(1));
  tileEnd = b.create<arith::IndexCastUIOp>(loc, b.getIndexType(), entry->getArgument(2));
  scratch = entry->getArgument(3);
  return function;
}

} // namespace

Value cpuMemRef(OpBuilder &b, Location loc, Value pointer, MemRefType type) {
  MLIRContext *context = b.getContext();
  Type ptr = LLVM::LLVMPointerType::get(context), i64 = b.getI64Type();
  auto descriptorType = LLVM::LLVMStructType::getLiteral(
      context, {ptr, ptr, i64, LLVM::LLVMArrayType::get(i64, 1), LLVM::LLVMArrayType::get(i64, 1)});
  auto i64Constant = [&](int64_t value) {
    return b.create<LLVM::ConstantOp>(loc, i64, b.getI64IntegerAttr(value));
  };
  Value descriptor = b.create<LLVM::UndefOp>(loc, descriptorType);
  descriptor = b.create<LLVM::InsertValueOp>(loc, descriptor, pointer, ArrayRef<int64_t>{0});
  descriptor = b.create<LLVM::InsertValueOp>(loc, descriptor, pointer, ArrayRef<int64_t>{1});
  descriptor = b.create<LLVM::InsertValueOp>(loc, descriptor, i64Constant(0), ArrayRef<int64_t>{2});
  descriptor = b.create<LLVM::InsertValueOp>(loc, descriptor, i64Constant(type.getNumElements()),
                                             ArrayRef<int64_t>{3, 0});
  descriptor =
      b.create<LLVM::InsertValueOp>(loc, descriptor, i64Constant(1), ArrayRef<int64_t>{4, 0});
  return b.create<UnrealizedConversionCastOp>(loc, TypeRange{type}, ValueRange{descriptor})
      .getResult(0);
}

void registerCpuKernelEmitterDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect, LLVM::LLVMDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect, vector::VectorDialect>();
}

FailureOr<CpuKernelInfo> emitCpuKernel(func::FuncOp kernel, ModuleOp into,
                                       const TargetConfig &config) {
  auto info = kernel->getAttrOfType<graph::KernelAttr>("graph.kernel");
  if (!info)
    return kernel.emitOpError("is not a kernel formed by kiln-fuse (no graph.kernel attribute)");
  if (!config.cpu)
    return kernel.emitOpError("internal compiler error: a CPU kernel emitted with a GPU "
                              "target configuration");
  if (into.lookupSymbol(kernel.getSymName()))
    return kernel.emitOpError("cannot be written as a CPU kernel: @")
           << kernel.getSymName() << " already exists in the target module";
  std::unique_ptr<KernelKindEmitter> kind = createKindEmitter(info.getKind());
  if (!kind)
    return kernel.emitOpError("cannot be emitted as a ")
           << info.getKindName() << " kernel: that kind is emitted by the compiler only";
  into.getContext()
      ->loadDialect<arith::ArithDialect, func::FuncDialect, LLVM::LLVMDialect, math::MathDialect,
                    memref::MemRefDialect, scf::SCFDialect, vector::VectorDialect>();
  KernelContext context(kernel, config);
  FailureOr<llvm::SmallVector<MemRefType>> types = prepareKernel(context, info, "the CPU target");
  if (failed(types))
    return failure();
  OpBuilder &b = context.b;
  Location loc = context.loc;

  llvm::SmallVector<Value> bindings;
  func::FuncOp function = createFrame(b, into, loc, kernel.getSymName(), *types, bindings,
                                      context.tileBegin, context.tileEnd, context.scratch);
  context.outputs.assign(bindings.begin(), bindings.begin() + context.returned.size());
  context.inputs.assign(bindings.begin() + context.returned.size(), bindings.end());
  Block &entry = function.getBody().front();
  LogicalResult emitted =
      info.getKind() == graph::KernelKind::matmul ? emitCpuMatmul(context) : kind->emit(context);
  if (failed(emitted)) {
    function.erase();
    return failure();
  }
  // Reductions and rows: adjacent outputs (rows) in the lanes of one vector.
  if (context.tileLoop && info.getKind() != graph::KernelKind::matmul)
    vectorizeCpuLoop(b, context.tileLoop, config.cpuLanes);
  b.setInsertionPointToEnd(&entry);
  b.create<func::ReturnOp>(loc);
  if (context.tileCount <= 0 || context.tileCount > UINT32_MAX) {
    function.erase();
    return kernel.emitOpError("cannot be compiled for the CPU target: its ")
           << context.tileCount << " tiles are outside 1.." << UINT32_MAX;
  }
  return CpuKernelInfo{static_cast<uint32_t>(context.tileCount),
                       static_cast<uint64_t>(context.scratchBytes)};
}

FailureOr<CpuKernelInfo> emitCpuMaskConversion(ModuleOp into, Location loc, llvm::StringRef name,
                                               int64_t count, bool pack,
                                               const TargetConfig &config) {
  if (into.lookupSymbol(name))
    return emitError(loc) << "cannot write the CPU mask conversion @" << name
                          << ": the name already exists in the target module";
  into.getContext()
      ->loadDialect<arith::ArithDialect, func::FuncDialect, LLVM::LLVMDialect,
                    memref::MemRefDialect, scf::SCFDialect>();
  OpBuilder b(into.getContext());
  int64_t packedWords = (count + 3) / 4;
  auto words = MemRefType::get({count}, b.getI32Type());
  auto packed = MemRefType::get({packedWords}, b.getI32Type());
  llvm::SmallVector<MemRefType> types = pack ? llvm::SmallVector<MemRefType>{packed, words}
                                             : llvm::SmallVector<MemRefType>{words, packed};
  llvm::SmallVector<Value> bindings;
  Value tileBegin, tileEnd, scratch;
  func::FuncOp function =
      createFrame(b, into, loc, name, types, bindings, tileBegin, tileEnd, scratch);
  int64_t items = pack ? packedWords : count;
  int64_t tile = config.cpuPointwiseTileElements;
  int64_t tiles = (items + tile - 1) / tile;
  auto index = [&](int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v).getResult(); };
  Value begin = b.create<arith::MinUIOp>(loc, b.create<arith::MulIOp>(loc, tileBegin, index(tile)),
                                         index(items));
  Value end = b.create<arith::MaxUIOp>(
      loc, begin,
      b.create<arith::MinUIOp>(loc, b.create<arith::MulIOp>(loc, tileEnd, index(tile)),
                               index(items)));
  auto loop = b.create<scf::ForOp>(loc, begin, end, index(1));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    emitMaskConversionItem(b, loc, bindings[0], bindings[1], loop.getInductionVar(), count, pack);
  }
  b.setInsertionPointToEnd(&function.getBody().front());
  b.create<func::ReturnOp>(loc);
  return CpuKernelInfo{static_cast<uint32_t>(std::max<int64_t>(tiles, 1)), 0};
}

} // namespace kiln::kernels
