// RUN: kiln-opt %s --split-input-file --verify-diagnostics --allow-unregistered-dialect

// Every message of the exec dialect's verifiers and parsers (dialects/exec/lib), one
// split each, in the order ExecVerify.cpp checks them.

// A plan names at least one target.
// expected-error @+1 {{names no target}}
exec.plan @p attributes {targets = [], compiler = "k"} {
  exec.program @train inputs [] {
  }
}

// -----


// Targets are vulkan, cuda and cpu.
// expected-error @+1 {{names unknown target 'metal'; expected "vulkan", "cuda" or "cpu"}}
exec.plan @p attributes {targets = ["metal"], compiler = "k"} {
  exec.program @train inputs [] {
  }
}

// -----


// A CPU image is the bytes of an ELF file.
// expected-error @+1 {{has a cpu image for 'x86-64-v3' that is not a string of bytes}}
exec.plan @p attributes {targets = ["cpu"], compiler = "k", cpu_images = {"x86-64-v3" = 3}} {
  exec.program @train inputs [] {
  }
}

// -----


// The arena alignment is a power of two.
// expected-error @+1 {{has alignment 48, not a power of two}}
exec.plan @p attributes {targets = ["vulkan"], compiler = "k", alignment = 48} {
  exec.program @train inputs [] {
  }
}

// -----


// A plan holds only exec declarations.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{cannot be part of an exec.plan}}
  "test.op"() : () -> ()
  exec.program @train inputs [] {
  }
}

// -----


// One buffer backs one named tensor.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %x = exec.buffer "x" input size 4
  exec.input "x" %x : tensor<f32>
  // expected-error @+1 {{input 'y' names a buffer that exec.input already names}}
  exec.input "y" %x : tensor<f32>
  exec.program @train inputs [] {
  }
}

// -----


// An offset needs an arena.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{has an arena offset but the plan has no arena}}
  %t = exec.buffer "t" transient size 4 offset 0
  exec.program @train inputs [] {
  }
}

// -----


// Offsets are aligned.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k", arena_bytes = 1024, alignment = 256} {
  // expected-error @+1 {{offset 8 is not a multiple of the plan's alignment 256}}
  %t = exec.buffer "t" transient size 4 offset 8
  exec.program @train inputs [] {
  }
}

// -----


// Buffers lie inside the arena.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k", arena_bytes = 1024, alignment = 256} {
  // expected-error @+1 {{occupies bytes [256, 1280) but the arena is 1024 bytes}}
  %t = exec.buffer "t" transient size 1024 offset 256
  exec.program @train inputs [] {
  }
}

// -----


// Input names are unique.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %a = exec.buffer "a" input size 4
  %b = exec.buffer "b" input size 4
  exec.input "x" %a : tensor<f32>
  // expected-error @+1 {{declares input 'x' a second time}}
  exec.input "x" %b : tensor<f32>
  exec.program @train inputs [] {
  }
}

// -----


// Variable names are unique.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %a = exec.buffer "a" variable size 4
  %b = exec.buffer "b" variable size 4
  exec.variable "v" %a : tensor<f32> = <constant(0.0, 0.0), seed = 0, stream = 0>
  // expected-error @+1 {{declares variable 'v' a second time}}
  exec.variable "v" %b : tensor<f32> = <constant(0.0, 0.0), seed = 0, stream = 0>
  exec.program @train inputs [] {
  }
}

// -----


// The training step comes first.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{is the plan's first program, which must be @train}}
  exec.program @eval inputs [] {
  }
}

// -----


// Programs read declared inputs.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{reads input 'x', which the plan does not declare before it}}
  exec.program @train inputs ["x"] {
  }
}

// -----


// A plan has a training step.
// expected-error @+1 {{has no exec.program; a plan needs at least @train}}
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = exec.buffer "t" transient size 4
}

// -----


// Buffer sizes are whole words.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{size 6 is not a positive multiple of 4 bytes}}
  %t = exec.buffer "t" transient size 6
  exec.program @train inputs [] {
  }
}

// -----


// Only transients live in the arena.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k", arena_bytes = 1024, alignment = 256} {
  // expected-error @+1 {{only transient buffers live in the arena; this one is variable}}
  %t = exec.buffer "t" variable size 4 offset 0
  exec.program @train inputs [] {
  }
}

// -----


// Offsets are not negative.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k", arena_bytes = 1024, alignment = 256} {
  // expected-error @+1 {{offset -256 is negative}}
  %t = exec.buffer "t" transient size 4 offset -256
  exec.program @train inputs [] {
  }
}

// -----


// A constant carries its data.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{is a constant buffer without its data}}
  %c = exec.buffer "c" constant size 4
  exec.program @train inputs [] {
  }
}

// -----


// A constant's data fills it.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{data holds 4 bytes but the buffer is 8}}
  %c = exec.buffer "c" constant size 8 {data = array<i32: 1>}
  exec.program @train inputs [] {
  }
}

// -----


// Only constants carry data.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{has data but is input; only constant buffers carry data}}
  %c = exec.buffer "c" input size 4 {data = array<i32: 1>}
  exec.program @train inputs [] {
  }
}

// -----


// Workgroups have three extents.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{workgroup has 2 extents; expected 3 (x, y, z)}}
  exec.kernel @k kind "pointwise" bindings (write) workgroup [1, 1]
  exec.program @train inputs [] {
  }
}

// -----


// Workgroup extents are positive.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{workgroup extent y is 0; every extent must be at least 1}}
  exec.kernel @k kind "pointwise" bindings (write) workgroup [1, 0, 1]
  exec.program @train inputs [] {
  }
}

// -----


// A kernel has bindings.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{has no bindings; a kernel writes at least one buffer}}
  exec.kernel @k kind "pointwise" bindings () workgroup [1, 1, 1]
  exec.program @train inputs [] {
  }
}

// -----


// A kernel writes something.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{writes none of its 2 bindings}}
  exec.kernel @k kind "pointwise" bindings (read, read) workgroup [1, 1, 1]
  exec.program @train inputs [] {
  }
}

// -----


// In-place lists hold pairs.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{in_place holds 3 values; expected (output, input) pairs}}
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1] {in_place = array<i32: 0, 1, 0>}
  exec.program @train inputs [] {
  }
}

// -----


// In-place pairs name bindings of the kernel.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{in-place pair (0, 5) names a binding outside 0..1}}
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1] {in_place = array<i32: 0, 5>}
  exec.program @train inputs [] {
  }
}

// -----


// In-place pairs pair a written binding with a read one.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{in-place pair (1, 0) must pair a written binding with a read one}}
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1] {in_place = array<i32: 1, 0>}
  exec.program @train inputs [] {
  }
}

// -----


// Push constants are whole words.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{push_constant_size 6 is not a multiple of 4 bytes}}
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1] {push_constant_size = 6}
  exec.program @train inputs [] {
  }
}

// -----


// A CPU kernel has at least one tile.
exec.plan @p attributes {targets = ["cpu"], compiler = "k"} {
  // expected-error @+1 {{cpu_tile_count 0 is outside 1..2^32-1}}
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1] {cpu_tile_count = 0}
  exec.program @train inputs [] {
  }
}

// -----


// A CPU entry names its image, offset, tiles and scratch.
exec.plan @p attributes {targets = ["cpu"], compiler = "k"} {
  // expected-error @+1 {{that is not {isa = "...", offset >= 0, tile_count >= 1, scratch_bytes >= 0}}}
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1] {cpu_entries = [{isa = "x86-64-v3", offset = 0, tile_count = 0, scratch_bytes = 0}]}
  exec.program @train inputs [] {
  }
}

// -----


// SPIR-V is whole words.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{spirv holds 3 bytes; SPIR-V is a non-empty list of 32-bit words}}
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1] {spirv = "abc"}
  exec.program @train inputs [] {
  }
}

// -----


// PTX is keyed by architecture.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{ptx entry 'x86' must map an sm_* architecture to PTX text}}
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1] {ptx = {x86 = "text"}}
  exec.program @train inputs [] {
  }
}

// -----


// A kernel's code is a gpu.module beside the plan.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{code @missing names no gpu.module beside the plan}}
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1] code @missing
  exec.program @train inputs [] {
  }
}

// -----


// A kernel's CPU code is a builtin.module beside the plan.
exec.plan @p attributes {targets = ["cpu"], compiler = "k"} {
  // expected-error @+1 {{cpu_code @missing names no builtin.module beside the plan}}
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1] {cpu_code = @missing}
  exec.program @train inputs [] {
  }
}

// -----


// Named tensors name buffers made by exec.buffer.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %x = "test.buffer"() : () -> !exec.buffer
  // expected-error @+1 {{input 'x' must name an exec.buffer}}
  exec.input "x" %x : tensor<f32>
  exec.program @train inputs [] {
  }
}

// -----


// An input names an input buffer.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %x = exec.buffer "t" transient size 4
  // expected-error @+1 {{input 'x' must name a input buffer; 't' is transient}}
  exec.input "x" %x : tensor<f32>
  exec.program @train inputs [] {
  }
}

// -----


// Plans exchange f32, i32 and i1 tensors.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %x = exec.buffer "x" input size 4
  // expected-error @+1 {{input 'x' has element type 'f16'; a plan exchanges f32, i32 and i1 tensors}}
  exec.input "x" %x : tensor<2xf16>
  exec.program @train inputs [] {
  }
}

// -----


// A named tensor fills its buffer.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %x = exec.buffer "x" input size 8
  // expected-error @+1 {{input 'x' is 'tensor<4xf32>' (16 bytes) but buffer 'x' holds 8}}
  exec.input "x" %x : tensor<4xf32>
  exec.program @train inputs [] {
  }
}

// -----


// A default value has the input's type.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %x = exec.buffer "x" input size 4
  // expected-error @+1 {{input 'x' has a default value of type 'tensor<i32>' but is 'tensor<f32>'}}
  exec.input "x" %x : tensor<f32> default dense<1> : tensor<i32>
  exec.program @train inputs [] {
  }
}

// -----


// Variables are not masks.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %v = exec.buffer "v" variable size 4
  // expected-error @+1 {{variable 'v' is i1; variables hold f32 or i32}}
  exec.variable "v" %v : tensor<4xi1> = <constant(0.0, 0.0), seed = 0, stream = 0>
  exec.program @train inputs [] {
  }
}

// -----


// An output names an output buffer.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %y = exec.buffer "y" input size 4
  exec.program @train inputs [] {
    // expected-error @+1 {{output 'y' must name a output buffer; 'y' is input}}
    exec.output "y" %y : tensor<f32>
  }
}

// -----


// A program lists an input once.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %x = exec.buffer "x" input size 4
  exec.input "x" %x : tensor<f32>
  // expected-error @+1 {{lists input 'x' twice}}
  exec.program @train inputs ["x", "x"] {
  }
}

// -----


// Programs hold commands and outputs.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  exec.program @train inputs [] {
    // expected-error @+1 {{cannot be part of an exec.program}}
    %t = exec.buffer "t" transient size 4
  }
}

// -----


// Output names are unique in a program.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %a = exec.buffer "a" output size 4
  %b = exec.buffer "b" output size 4
  exec.program @train inputs [] {
    exec.output "y" %a : tensor<f32>
    // expected-error @+1 {{names output 'y' a second time in @train}}
    exec.output "y" %b : tensor<f32>
  }
}

// -----


// A dispatch names a kernel of the plan.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = exec.buffer "t" transient size 4
  %u = exec.buffer "u" transient size 4
  exec.program @train inputs [] {
    // expected-error @+1 {{dispatches @nothing, which is not an exec.kernel of the plan}}
    exec.dispatch @nothing(write %t) groups [1, 1, 1]
  }
}

// -----


// A dispatch binds every binding.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = exec.buffer "t" transient size 4
  %u = exec.buffer "u" transient size 4
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1]
  exec.program @train inputs [] {
    // expected-error @+1 {{binds 1 buffers but @k has 2 bindings}}
    exec.dispatch @k(write %t) groups [1, 1, 1]
  }
}

// -----


// A dispatch marks each binding as its kernel declares it.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = exec.buffer "t" transient size 4
  %u = exec.buffer "u" transient size 4
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1]
  exec.program @train inputs [] {
    // expected-error @+1 {{marks binding 1 'write' but @k only reads it}}
    exec.dispatch @k(write %t, write %u) groups [1, 1, 1]
  }
}

// -----


// Push constants fit the kernel's block.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = exec.buffer "t" transient size 4
  %u = exec.buffer "u" transient size 4
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1] {push_constant_size = 4}
  exec.program @train inputs [] {
    // expected-error @+1 {{pushes 8 bytes of constants but @k declares 4}}
    exec.dispatch @k(write %t, read %u) groups [1, 1, 1] {push_constants = array<i32: 1, 2>}
  }
}

// -----


// Every binding has an access marker.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = exec.buffer "t" transient size 4
  %u = exec.buffer "u" transient size 4
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1]
  exec.program @train inputs [] {
    // expected-error @+1 {{has 1 access markers for 2 buffers}}
    "exec.dispatch"(%t, %u) {kernel = @k, written = array<i1: true>, groups = array<i32: 1, 1, 1>} : (!exec.buffer, !exec.buffer) -> ()
  }
}

// -----


// Dispatches bind buffers made by exec.buffer.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = "test.buffer"() : () -> !exec.buffer
  %u = exec.buffer "u" transient size 4
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1]
  exec.program @train inputs [] {
    // expected-error @+1 {{binding 0 is not an exec.buffer}}
    exec.dispatch @k(write %t, read %u) groups [1, 1, 1]
  }
}

// -----


// Grids are positive.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = exec.buffer "t" transient size 4
  %u = exec.buffer "u" transient size 4
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1]
  exec.program @train inputs [] {
    // expected-error @+1 {{groups extent z is 0; every extent must be at least 1}}
    exec.dispatch @k(write %t, read %u) groups [1, 1, 0]
  }
}

// -----


// A copy moves bytes between two buffers.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = exec.buffer "t" transient size 4
  %u = exec.buffer "u" transient size 4
  exec.program @train inputs [] {
    // expected-error @+1 {{copies a buffer onto itself}}
    exec.copy %t to %t size 4
  }
}

// -----


// A copy moves whole words.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = exec.buffer "t" transient size 4
  %u = exec.buffer "u" transient size 4
  exec.program @train inputs [] {
    // expected-error @+1 {{size 2 is not a positive multiple of 4 bytes}}
    exec.copy %t to %u size 2
  }
}

// -----


// A copy moves between exec.buffers.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = "test.buffer"() : () -> !exec.buffer
  %u = exec.buffer "u" transient size 4
  exec.program @train inputs [] {
    // expected-error @+1 {{copies between values that are not exec.buffers}}
    exec.copy %t to %u size 4
  }
}

// -----


// A copy stays inside both buffers.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = exec.buffer "t" transient size 4
  %u = exec.buffer "u" transient size 4
  exec.program @train inputs [] {
    // expected-error @+1 {{copies 8 bytes but 't' holds 4}}
    exec.copy %t to %u size 8
  }
}

// -----


// A kernel's access list says write or read.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{expected 'write' or 'read', found 'modify'}}
  exec.kernel @k kind "pointwise" bindings (modify) workgroup [1, 1, 1]
  exec.program @train inputs [] {
  }
}

// -----


// A dispatch's bindings say write or read.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %t = exec.buffer "t" transient size 4
  %u = exec.buffer "u" transient size 4
  exec.kernel @k kind "pointwise" bindings (write, read) workgroup [1, 1, 1]
  exec.program @train inputs [] {
    // expected-error @+1 {{expected 'write' or 'read', found 'rw'}}
    exec.dispatch @k(write %t, rw %u) groups [1, 1, 1]
  }
}

// -----


// Initializers are constant, uniform or normal.
exec.plan @p attributes {targets = ["vulkan"], compiler = "k"} {
  %v = exec.buffer "v" variable size 4
  // expected-error @+1 {{unknown distribution 'gamma'; expected constant, uniform or normal}}
  exec.variable "v" %v : tensor<f32> = <gamma(0.0, 1.0), seed = 0, stream = 0>
  exec.program @train inputs [] {
  }
}
