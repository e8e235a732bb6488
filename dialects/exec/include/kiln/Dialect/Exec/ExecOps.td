//===- ExecOps.td - Kiln exec dialect ----------------------*- tablegen -*-===//
//
// The exec dialect is the plan as IR: the buffers a plan owns (with their role,
// size and arena offset), its kernels (kind, bindings with their access, code
// per target), its host interface (inputs, variables, outputs) and its programs,
// each an ordered list of dispatches, copies and barriers. Plan assembly builds
// it from the kernel functions kiln-fuse formed; copy elision, arena allocation
// and barrier placement rewrite it; the serializer prints it as the protobuf
// plan field for field (docs/reference/exec-dialect.md). There is one level:
// what a program says is what the runtime records.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_EXEC_OPS
#define KILN_EXEC_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/OpAsmInterface.td"

def Exec_Dialect : Dialect {
  let name = "exec";
  let cppNamespace = "::kiln::exec";
  let summary = "A compiled plan: buffers, kernels, programs of dispatches, copies, barriers";
  let description = [{
    One `exec.plan` holds everything a runtime needs to run a model's programs:
    `exec.buffer`s, `exec.kernel`s, `exec.input`s and `exec.variable`s, and the
    `exec.program`s (`@train` first) whose bodies are executed in order.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
}

class Exec_Op<string mnemonic, list<Trait> traits = []>
    : Op<Exec_Dialect, mnemonic, traits>;

def Exec_BufferType : TypeDef<Exec_Dialect, "Buffer"> {
  let mnemonic = "buffer";
  let summary = "A device buffer of the plan";
}

def Exec_BufferRole : I32EnumAttr<"BufferRole", "what a buffer holds", [
    I32EnumAttrCase<"transient", 1>, I32EnumAttrCase<"variable", 2>,
    I32EnumAttrCase<"input", 3>, I32EnumAttrCase<"output", 4>,
    I32EnumAttrCase<"constant", 5>]> {
  let cppNamespace = "::kiln::exec";
}

def Exec_Distribution : I32EnumAttr<"Distribution",
    "how a variable's initial values are drawn", [
      I32EnumAttrCase<"constant", 0>, I32EnumAttrCase<"uniform", 1>,
      I32EnumAttrCase<"normal", 2>]> {
  let cppNamespace = "::kiln::exec";
  let genSpecializedAttr = 0;
}

def Exec_InitAttr : AttrDef<Exec_Dialect, "Init"> {
  let mnemonic = "init";
  let summary = "A variable's initializer: Philox draws keyed by (seed, stream)";
  let parameters = (ins EnumParameter<Exec_Distribution>:$distribution,
                        "::llvm::APFloat":$a, "::llvm::APFloat":$b, "uint64_t":$seed, "uint64_t":$stream);
  // <uniform(-0.1, 0.1), seed = 0, stream = 3>
  let hasCustomAssemblyFormat = 1;
}

def Exec_PlanOp : Exec_Op<"plan", [SymbolTable, NoTerminator, SingleBlock,
    IsolatedFromAbove, NoRegionArguments]> {
  let summary = "A whole plan: its buffers, kernels, host interface and programs";
  let description = [{
    The body holds `exec.buffer`, `exec.kernel`, `exec.input`, `exec.variable`
    and `exec.program` ops. Buffers are numbered in the order they appear, and so
    are kernels; that order is the plan's. The memory attributes are set by the
    passes that decide them (`kiln-exec-elide-copies`: `naive_bytes`,
    `elided_copies`; `kiln-exec-allocate-arena`: the rest).

    ```mlir
    exec.plan @mlp attributes {targets = ["vulkan"], compiler = "kiln 0.1.0"} {
      %w = exec.buffer "fc1.weight" variable size 4096
      ...
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       StrArrayAttr:$targets,
                       StrAttr:$compiler,
                       OptionalAttr<StrAttr>:$source_hash,
                       OptionalAttr<DenseI32ArrayAttr>:$features,
                       OptionalAttr<I64Attr>:$naive_bytes,
                       OptionalAttr<I64Attr>:$elided_copies,
                       OptionalAttr<I64Attr>:$arena_bytes,
                       OptionalAttr<I64Attr>:$peak_live_bytes,
                       OptionalAttr<I64Attr>:$alignment,
                       OptionalAttr<I64Attr>:$in_place_reuses,
                       OptionalAttr<DictionaryAttr>:$cpu_images);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::Block &getBlock() { return getBody().front(); }
  }];
}

def Exec_BufferOp : Exec_Op<"buffer", [HasParent<"PlanOp">,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmResultNames"]>]> {
  let summary = "One device buffer: its role, its size and where it lives";
  let description = [{
    A transient buffer with an `offset` lives at that byte offset of the plan's
    arena (decided by `kiln-exec-allocate-arena`); every other buffer is its own
    allocation. A constant buffer carries its bytes as 32-bit little-endian
    words in `data`.

    ```mlir
    %t = exec.buffer "fused_2.0" transient size 2048 offset 4096
    ```
  }];
  let arguments = (ins StrAttr:$name, Exec_BufferRole:$role, I64Attr:$size,
                       OptionalAttr<I64Attr>:$offset,
                       OptionalAttr<DenseI32ArrayAttr>:$data);
  let results = (outs Exec_BufferType:$result);
  let assemblyFormat = "$name $role `size` $size (`offset` $offset^)? attr-dict";
  let hasVerifier = 1;
}

def Exec_KernelOp : Exec_Op<"kernel", [Symbol, HasParent<"PlanOp">,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "A compute kernel: its bindings, their access, its code per target";
  let description = [{
    `bindings` lists each storage binding's access, `write` or `read`: the one
    record of what a kernel writes, from which barriers are placed and which
    the plan's `output_bindings` is printed from. `in_place` pairs (output
    binding, input binding) may share memory. Until
    `kiln-exec-compile-targets` runs, `code` names the kernel's `gpu.module`
    beside the plan in the enclosing module; after it, `spirv` and `ptx`
    (architecture to PTX text) hold the code.

    ```mlir
    exec.kernel @fused_1 kind "matmul" bindings(write, read, read) workgroup [16, 16, 1]
        code @fused_1_gpu
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, StrAttr:$kind,
                       DenseBoolArrayAttr:$written,
                       DenseI32ArrayAttr:$workgroup,
                       OptionalAttr<FlatSymbolRefAttr>:$code,
                       OptionalAttr<StrAttr>:$entry_point,
                       OptionalAttr<DenseI32ArrayAttr>:$in_place,
                       OptionalAttr<StrArrayAttr>:$layers,
                       OptionalAttr<I64Attr>:$compute_ops,
                       OptionalAttr<ArrayAttr>:$source_ops,
                       OptionalAttr<I64Attr>:$push_constant_size,
                       OptionalAttr<StrAttr>:$spirv,
                       OptionalAttr<DictionaryAttr>:$ptx,
                       OptionalAttr<FlatSymbolRefAttr>:$cpu_code,
                       OptionalAttr<I64Attr>:$cpu_tile_count,
                       OptionalAttr<ArrayAttr>:$cpu_entries);
  let assemblyFormat = [{
    $sym_name `kind` $kind `bindings` custom<Access>($written) `workgroup` $workgroup
    (`code` $code^)? attr-dict
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    unsigned getBindingCount() { return getWritten().size(); }
    bool writes(unsigned binding) { return getWritten()[binding]; }
    /// The gpu.module `code` names, in the module enclosing the plan; null if none.
    ::mlir::Operation *getCodeModule();
  }];
}

def Exec_InputOp : Exec_Op<"input", [HasParent<"PlanOp">]> {
  let summary = "A named tensor the host writes before every run that reads it";
  let arguments = (ins StrAttr:$name, Exec_BufferType:$buffer,
                       TypeAttrOf<AnyRankedTensor>:$type,
                       OptionalAttr<ElementsAttr>:$default_value);
  let assemblyFormat = "$name $buffer `:` $type (`default` $default_value^)? attr-dict";
  let hasVerifier = 1;
}

def Exec_VariableOp : Exec_Op<"variable", [HasParent<"PlanOp">]> {
  let summary = "State kept on the device across runs: a parameter or optimizer state";
  let arguments = (ins StrAttr:$name, Exec_BufferType:$buffer,
                       TypeAttrOf<AnyRankedTensor>:$type, Exec_InitAttr:$init,
                       UnitAttr:$trainable);
  let assemblyFormat = [{
    $name $buffer (`trainable` $trainable^)? `:` $type `=` $init attr-dict
  }];
  let hasVerifier = 1;
}

def Exec_ProgramOp : Exec_Op<"program", [Symbol, HasParent<"PlanOp">, NoTerminator,
    SingleBlock, NoRegionArguments]> {
  let summary = "One program (train, eval, ...): commands executed in order";
  let description = [{
    The body holds `exec.dispatch`, `exec.copy` and `exec.barrier` commands in
    execution order, and the `exec.output`s the program writes. `inputs` names
    the plan inputs the program reads. `implicit_io` marks a program read from a
    plan written before programs listed their inputs and outputs.
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, StrArrayAttr:$inputs,
                       UnitAttr:$implicit_io);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name `inputs` $inputs attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::Block &getBlock() { return getBody().front(); }
  }];
}

def Exec_OutputOp : Exec_Op<"output", [HasParent<"ProgramOp">]> {
  let summary = "A named tensor the host reads after every run of this program";
  let arguments = (ins StrAttr:$name, Exec_BufferType:$buffer,
                       TypeAttrOf<AnyRankedTensor>:$type);
  let assemblyFormat = "$name $buffer `:` $type attr-dict";
  let hasVerifier = 1;
}

def Exec_DispatchOp : Exec_Op<"dispatch", [HasParent<"ProgramOp">,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Runs a kernel over a grid of workgroups, binding i to buffers[i]";
  let description = [{
    Each buffer is printed with its binding's access as the kernel declares it
    (checked against the kernel):

    ```mlir
    exec.dispatch @fused_1(write %t, read %w, read %x) groups [4, 8, 1]
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$kernel, Variadic<Exec_BufferType>:$buffers,
                       DenseBoolArrayAttr:$written, DenseI32ArrayAttr:$groups,
                       OptionalAttr<DenseI32ArrayAttr>:$push_constants);
  let assemblyFormat = [{
    $kernel `(` custom<Bindings>($buffers, $written) `)` `groups` $groups attr-dict
  }];
  let hasVerifier = 1;
}

def Exec_CopyOp : Exec_Op<"copy", [HasParent<"ProgramOp">]> {
  let summary = "Copies the first `size` bytes of one buffer to another";
  let arguments = (ins Exec_BufferType:$source, Exec_BufferType:$target, I64Attr:$size);
  let assemblyFormat = "$source `to` $target `size` $size attr-dict";
  let hasVerifier = 1;
}

def Exec_BarrierOp : Exec_Op<"barrier", [HasParent<"ProgramOp">]> {
  let summary = "Everything before completes and is visible before anything after starts";
  let description = [{
    Placed by `kiln-exec-place-barriers` from the declared accesses, never by
    hand: between two commands that touch the same memory when one writes it.
  }];
  let assemblyFormat = "attr-dict";
}

#endif // KILN_EXEC_OPS
