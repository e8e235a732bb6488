//===- CpuKernelFunction.cpp - The frame every CPU kernel kind fills -----===//
#include "CpuKernelFunction.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace kiln::targets::detail {

CpuKernelFunction createCpuKernelFunction(OpBuilder &b, ModuleOp into, Location loc,
                                          llvm::StringRef name, unsigned numBindings) {
  MLIRContext *context = into.getContext();
  context->loadDialect<LLVM::LLVMDialect, arith::ArithDialect, math::MathDialect, scf::SCFDialect,
                       vector::VectorDialect>();
  b.setInsertionPointToEnd(into.getBody());
  Type ptr = LLVM::LLVMPointerType::get(context);
  Type i32 = b.getI32Type();
  auto function = b.create<func::FuncOp>(loc, name, b.getFunctionType({ptr, i32, i32, ptr}, {}));
  Block *entry = function.addEntryBlock();
  b.setInsertionPointToStart(entry);
  CpuKernelFunction kernel{function, {}, {}, {}};
  for (unsigned index = 0; index < numBindings; ++index) {
    Value slot = b.create<LLVM::GEPOp>(loc, ptr, ptr, entry->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(index)});
    kernel.bindings.push_back(b.create<LLVM::LoadOp>(loc, ptr, slot, /*alignment=*/8));
  }
  kernel.tileBegin = b.create<arith::IndexCastUIOp>(loc, b.getIndexType(), entry->getArgument(1));
  kernel.tileEnd = b.create<arith::IndexCastUIOp>(loc, b.getIndexType(), entry->getArgument(2));
  return kernel;
}

Value elementAddress(OpBuilder &b, Location loc, Value base, Value element) {
  Value offset = b.create<arith::IndexCastOp>(loc, b.getI64Type(), element);
  return b.create<LLVM::GEPOp>(loc, base.getType(), b.getF32Type(), base, ValueRange{offset});
}

} // namespace kiln::targets::detail
