//===- Passes.td - Passes over the exec dialect -------------*- tablegen -*-===//
//
// From the kernels kiln-emit-kernels emitted down to the plan: assembly, copy
// elision, arena allocation, barrier placement and target compilation, one
// file each in compiler/exec/. The serializer (Serialize.h) then prints the
// exec.plan as the protobuf plan.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_EXEC_PASSES
#define KILN_EXEC_PASSES

include "mlir/Pass/PassBase.td"

def ExecAssemble : Pass<"kiln-exec-assemble", "::mlir::ModuleOp"> {
  let summary = "Assembles the plan: programs of dispatches and copies over buffers, as exec IR";
  let description = [{
    Turns a module after kiln-emit-kernels into one `exec.plan`: each
    `graph.variable`, `graph.input` and `graph.constant` becomes an
    `exec.buffer` with its role, each call of a kernel function an
    `exec.dispatch` of its `exec.kernel` (whose body takes the emitted
    `gpu.module`) writing fresh transient buffers, each `graph.output` and
    `graph.gradient` an `exec.output` (copying into a fresh output buffer when
    the value lives in an input, variable, constant or another output), and
    the `graph.assign`s copies at the end of the program. `func @step` becomes
    `exec.program @train`, every other program function a program of its name.
    No barriers are placed (kiln-exec-place-barriers does that) and every
    transient buffer is its own allocation until kiln-exec-allocate-arena runs.
    The graph functions, variables and gpu.modules are removed.
  }];
  let options = [
    ListOption<"targets", "targets", "std::string",
               "targets to record in the plan (vulkan, cuda, cpu); default vulkan and cuda">,
    Option<"compiler", "compiler", "std::string", /*default=*/"\"\"",
           "compiler version to record; default this kiln's">,
  ];
  let dependentDialects = ["::kiln::exec::ExecDialect"];
  let statistics = [
    Statistic<"numBuffers", "buffers", "Buffers the plan owns">,
    Statistic<"numKernels", "kernels", "Kernels the programs dispatch">,
    Statistic<"numCopies", "copies", "Copies (assigns and output copies)">,
  ];
}

def ExecElideCopies : Pass<"kiln-exec-elide-copies", "::mlir::ModuleOp"> {
  let summary = "Updates variables in place instead of copying their new values at the end";
  let description = [{
    A dispatch D computing a variable V's new value into a transient T that the
    program then copies onto V may write V directly when nothing between D and
    the copy touches V, D reads V only through an input its kernel pairs in
    place with T's binding, T is written only by D and read only after it, and
    no other program touches T. Every use of T from D on becomes V, the copy
    goes and T is erased. Records `naive_bytes` (the transient bytes before)
    and `elided_copies` on the plan. Expects a plan without barriers.
  }];
  let statistics = [
    Statistic<"numElided", "elided-copies", "Assign copies turned into in-place updates">,
  ];
}

def ExecAllocateArena : Pass<"kiln-exec-allocate-arena", "::mlir::ModuleOp"> {
  let summary = "Packs the transient buffers into one arena by their live ranges";
  let description = [{
    Every transient buffer lives from the first to the last command that
    touches it on one timeline (@train's commands, then each other program's).
    Buffers a dispatch may update in place form one block. Blocks are placed by
    two best-fit heuristics (largest first, earliest first); the smaller arena
    wins. Sets each transient buffer's `offset` and the plan's `arena_bytes`,
    `peak_live_bytes`, `alignment` and `in_place_reuses`.
  }];
  let options = [
    Option<"alignment", "alignment", "unsigned", /*default=*/"256",
           "every arena offset is a multiple of this (a power of two)">,
    Option<"reuseInPlace", "reuse-in-place", "bool", /*default=*/"true",
           "place a kernel's output over an input dying there when the kernel pairs them">,
  ];
  let statistics = [
    Statistic<"numArenaBytes", "arena-bytes", "Bytes of the arena">,
    Statistic<"numNaiveBytes", "naive-bytes", "Bytes with every transient on its own">,
    Statistic<"numReuses", "in-place-reuses", "Outputs placed in a dying input's bytes">,
  ];
}

def ExecPlaceBarriers : Pass<"kiln-exec-place-barriers", "::mlir::ModuleOp"> {
  let summary = "Places the barriers every program needs, from the declared accesses";
  let description = [{
    Removes any barrier, then puts one before each command that reads memory
    written since the last barrier or writes memory read or written since then.
    What a dispatch reads and writes is its kernel's `bindings` access list.
    Buffers in the arena conflict when their byte ranges overlap; a buffer with
    its own allocation only with itself. The runtime orders program runs, so
    each program starts with nothing outstanding.
  }];
  let statistics = [
    Statistic<"numBarriers", "barriers", "Barriers placed in all programs">,
  ];
}

def ExecCompileTargets : Pass<"kiln-exec-compile-targets", "::mlir::ModuleOp"> {
  let summary = "Compiles every kernel's gpu.module to SPIR-V and PTX";
  let description = [{
    Lowers each `exec.kernel`'s `gpu.module` for every target the plan names,
    in parallel on the context's thread pool (identical kernels lowered to PTX
    once), sets its `spirv` and `ptx` attributes and empties its body.
  }];
}

#endif // KILN_EXEC_PASSES
