//===- CpuTarget.cpp - CPU kernel module -> native image per ISA ---------===//
//
// Lowers a clone of the kernel module in five steps:
//  1. check that every public function has the kernel signature;
//  2. expand powf and exp2, replace math ops by MLIR's polynomial approximations (no libm),
//     then convert
//     scf, vector, math, arith, index, memref, cf, func and ub to the LLVM dialect;
//  3. translate to LLVM IR for the ISA's triple and data layout, functions nounwind and
//     no-builtins (no memset/memcpy idioms), every non-kernel function internal, and run
//     LLVM's O3 pipeline with the ISA's TargetMachine (no fast-math: only explicit fma
//     contracts);
//  4. emit a PIC object with one section per function, and refuse any undefined symbol,
//     naming the kernel whose section references it (CpuImage.cpp);
//  5. link it with ld.lld and check the image: no dynamic relocations, no undefined dynamic
//     symbols, addresses equal to file offsets; read each kernel's entry offset.
//
//===----------------------------------------------------------------------===//
#include "CpuImage.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"

#include <mutex>

using namespace mlir;

namespace kiln::targets {

llvm::StringRef cpuIsaName(CpuIsa isa) {
  switch (isa) {
  case CpuIsa::X86_64_V3:
    return "x86-64-v3";
  case CpuIsa::X86_64_V4:
    return "x86-64-v4";
  case CpuIsa::AArch64:
    return "aarch64";
  }
  return "unknown";
}

void registerCpuKernelDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, cf::ControlFlowDialect, func::FuncDialect,
                  index::IndexDialect, LLVM::LLVMDialect, math::MathDialect, memref::MemRefDialect,
                  scf::SCFDialect, ub::UBDialect, vector::VectorDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

namespace {

/// The LLVM triple and CPU of each ISA.
struct IsaTarget {
  const char *triple;
  const char *cpu;
};

IsaTarget isaTarget(CpuIsa isa) {
  switch (isa) {
  case CpuIsa::X86_64_V3:
    return {"x86_64-unknown-linux-gnu", "x86-64-v3"};
  case CpuIsa::X86_64_V4:
    return {"x86_64-unknown-linux-gnu", "x86-64-v4"};
  case CpuIsa::AArch64:
    return {"aarch64-unknown-linux-gnu", "neoverse-n1"};
  }
  return {"", ""};
}

std::unique_ptr<llvm::TargetMachine> createTargetMachine(CpuIsa isa, std::string &error) {
  static std::once_flag initialized;
  std::call_once(initialized, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  });
  IsaTarget target = isaTarget(isa);
  const llvm::Target *llvmTarget = llvm::TargetRegistry::lookupTarget(target.triple, error);
  if (!llvmTarget)
    return nullptr;
  llvm::TargetOptions options;
  options.FunctionSections = true;
  options.DataSections = true;
  // Only explicit fma (math.fma from the approximations, vector.fma) contracts.
  options.AllowFPOpFusion = llvm::FPOpFusion::Standard;
  return std::unique_ptr<llvm::TargetMachine>(llvmTarget->createTargetMachine(
      target.triple, target.cpu, /*Features=*/"", options, llvm::Reloc::PIC_,
      llvm::CodeModel::Small, llvm::CodeGenOptLevel::Aggressive));
}

/// Step 1: the public definitions of `module` and their signature.
FailureOr<std::vector<std::string>> kernelNames(ModuleOp module, CpuIsa isa) {
  MLIRContext *context = module.getContext();
  Type ptr = LLVM::LLVMPointerType::get(context);
  Type i32 = IntegerType::get(context, 32);
  SmallVector<Type> expected = {ptr, i32, i32, ptr};
  std::vector<std::string> names;
  for (Operation &op : module.getBody()->getOperations()) {
    auto symbol = dyn_cast<SymbolOpInterface>(op);
    auto function = dyn_cast<FunctionOpInterface>(op);
    if (!symbol || !function || !symbol.isPublic() || function.isExternal())
      continue;
    ArrayRef<Type> results = function.getResultTypes();
    bool voidResult =
        results.empty() || (results.size() == 1 && isa_and_nonnull<LLVM::LLVMVoidType>(results[0]));
    if (function.getArgumentTypes() != ArrayRef<Type>(expected) || !voidResult)
      return op.emitError("CPU kernel @")
             << symbol.getName() << " for " << cpuIsaName(isa) << " has type "
             << function.getFunctionType()
             << "; expected (!llvm.ptr, i32, i32, !llvm.ptr) -> () (bindings, tile_begin, "
                "tile_end, scratch)";
    names.push_back(symbol.getName().str());
  }
  if (names.empty())
    return module.emitError("no CPU kernel to compile for ") << cpuIsaName(isa);
  return names;
}

/// Step 2: polynomial math, then the LLVM dialect.
LogicalResult lowerToLlvmDialect(ModuleOp module) {
  // The approximations build vector and math ops, the conversions LLVM ops.
  module.getContext()
      ->loadDialect<arith::ArithDialect, LLVM::LLVMDialect, math::MathDialect,
                    vector::VectorDialect>();
  RewritePatternSet patterns(module.getContext());
  // powf (a fractional graph.pow) as exp(y * log(x)), then both as polynomials.
  populateExpandPowFPattern(patterns);
  populateExpandExp2FPattern(patterns);
  populateMathPolynomialApproximationPatterns(patterns);
  if (failed(applyPatternsAndFoldGreedily(module, std::move(patterns))))
    return failure();
  PassManager pm(module.getContext());
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  ConvertFuncToLLVMPassOptions funcOptions;
  funcOptions.useBarePtrCallConv = true;
  pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  return pm.run(module);
}

/// Step 3: O3 with the ISA's TargetMachine.
void optimize(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager sccs;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder builder(&machine);
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(sccs);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, sccs, modules);
  llvm::ModulePassManager pipeline =
      builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  pipeline.run(module, modules);
}

} // namespace

FailureOr<CpuImage> compileCpuImage(ModuleOp kernels, CpuIsa isa) {
  llvm::StringRef isaName = cpuIsaName(isa);
  FailureOr<std::vector<std::string>> names = kernelNames(kernels, isa);
  if (failed(names))
    return failure();
  OwningOpRef<ModuleOp> clone = cast<ModuleOp>(kernels->clone());
  if (failed(lowerToLlvmDialect(*clone)))
    return kernels.emitError("lowering the CPU kernels to the LLVM dialect for ")
           << isaName << " failed";

  std::string error;
  std::unique_ptr<llvm::TargetMachine> machine = createTargetMachine(isa, error);
  if (!machine)
    return kernels.emitError("no LLVM target for ") << isaName << ": " << error;
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> module = translateModuleToLLVMIR(*clone, llvmContext);
  if (!module)
    return kernels.emitError("translating the CPU kernels to LLVM IR for ") << isaName << " failed";
  module->setTargetTriple(machine->getTargetTriple().str());
  module->setDataLayout(machine->createDataLayout());
  for (llvm::Function &function : *module) {
    if (function.isDeclaration())
      continue;
    function.addFnAttr(llvm::Attribute::NoUnwind);
    // Freestanding, as -ffreestanding: O3 must not turn a zeroing or copying loop into a
    // memset or memcpy call.
    function.addFnAttr("no-builtins");
    if (!llvm::is_contained(*names, function.getName().str()))
      function.setLinkage(llvm::GlobalValue::InternalLinkage);
  }
  optimize(*module, *machine);

  llvm::SmallVector<char, 0> object;
  {
    llvm::raw_svector_ostream stream(object);
    llvm::legacy::PassManager codegen;
    if (machine->addPassesToEmitFile(codegen, stream, nullptr, llvm::CodeGenFileType::ObjectFile))
      return kernels.emitError("the LLVM target for ") << isaName << " cannot emit objects";
    codegen.run(*module);
  }
  if (failed(detail::checkObjectCallsNothing(kernels, object, isaName)))
    return failure();
  FailureOr<std::vector<uint8_t>> image = detail::linkImage(kernels, object, isaName);
  if (failed(image))
    return failure();
  FailureOr<std::vector<CpuEntry>> entries = detail::inspectImage(kernels, *image, *names, isaName);
  if (failed(entries))
    return failure();
  return CpuImage{isa, std::move(*image), std::move(*entries)};
}

} // namespace kiln::targets
