// RUN: kiln-opt %s --split-input-file --kiln-exec-allocate-arena --verify-diagnostics | FileCheck %s
// RUN: kiln-opt %s --split-input-file --kiln-exec-allocate-arena="alignment=64 reuse-in-place=false" --verify-diagnostics | FileCheck %s --check-prefix=ALIGN64

// kiln-exec-allocate-arena: transients whose lives do not overlap share bytes;
// a kernel's in-place output takes the bytes of an input that dies there.

// t1 dies at the second dispatch, so t3 (born at the third) takes its bytes; t2 lives
// across and keeps its own. Outputs, inputs and variables stay out of the arena.

// CHECK-LABEL: exec.plan @chain
// CHECK-SAME:      alignment = 256 : i64
// CHECK-SAME:      arena_bytes = 512 : i64
// CHECK-SAME:      in_place_reuses = 0 : i64
// CHECK-SAME:      naive_bytes = 48 : i64
// CHECK-SAME:      peak_live_bytes = 512 : i64
// CHECK:         %a = exec.buffer "a" input size 16{{$}}
// CHECK-NEXT:    %t1 = exec.buffer "t1" transient size 16 offset [[T1:[0-9]+]]
// CHECK-NEXT:    %t2 = exec.buffer "t2" transient size 16 offset [[T2:[0-9]+]]
// CHECK-NEXT:    %t3 = exec.buffer "t3" transient size 16 offset [[T1]]
// CHECK-NEXT:    %y = exec.buffer "y" output size 16{{$}}

// ALIGN64-LABEL: exec.plan @chain
// ALIGN64-SAME:      alignment = 64 : i64
// ALIGN64-SAME:      arena_bytes = 128 : i64
exec.plan @chain attributes {targets = ["vulkan"], compiler = "k"} {
  %a = exec.buffer "a" input size 16
  %t1 = exec.buffer "t1" transient size 16
  %t2 = exec.buffer "t2" transient size 16
  %t3 = exec.buffer "t3" transient size 16
  %y = exec.buffer "y" output size 16
  exec.kernel @add kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1]
  exec.program @train inputs [] {
    exec.dispatch @add(write %t1, read %a, read %a) groups [1, 1, 1]
    exec.dispatch @add(write %t2, read %t1, read %a) groups [1, 1, 1]
    exec.dispatch @add(write %t3, read %t2, read %a) groups [1, 1, 1]
    exec.dispatch @add(write %y, read %t3, read %t2) groups [1, 1, 1]
    exec.output "y" %y : tensor<4xf32>
  }
}

// -----

// relu(t1) -> t2 in place: t1 dies where t2 is born, and the kernel pairs
// them, so t2 takes t1's bytes at the same moment (without the option it
// cannot: both are live at that dispatch).

// CHECK-LABEL: exec.plan @in_place
// CHECK-SAME:      in_place_reuses = 1 : i64
// CHECK:         %t1 = exec.buffer "t1" transient size 16 offset [[T:[0-9]+]]
// CHECK-NEXT:    %t2 = exec.buffer "t2" transient size 16 offset [[T]]

// ALIGN64-LABEL: exec.plan @in_place
// ALIGN64-SAME:      in_place_reuses = 0 : i64
// ALIGN64:         %t1 = exec.buffer "t1" transient size 16 offset 0
// ALIGN64-NEXT:    %t2 = exec.buffer "t2" transient size 16 offset 64
exec.plan @in_place attributes {targets = ["vulkan"], compiler = "k"} {
  %a = exec.buffer "a" input size 16
  %t1 = exec.buffer "t1" transient size 16
  %t2 = exec.buffer "t2" transient size 16
  %y = exec.buffer "y" output size 16
  exec.kernel @add kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1]
  exec.kernel @relu kind "pointwise" bindings(write, read) workgroup [64, 1, 1] {in_place = array<i32: 0, 1>}
  exec.program @train inputs [] {
    exec.dispatch @add(write %t1, read %a, read %a) groups [1, 1, 1]
    exec.dispatch @relu(write %t2, read %t1) groups [1, 1, 1]
    exec.dispatch @add(write %y, read %t2, read %a) groups [1, 1, 1]
    exec.output "y" %y : tensor<4xf32>
  }
}

// -----

// One timeline across programs: a transient of @train and one of @eval never
// live together and share bytes.

// CHECK-LABEL: exec.plan @programs
// CHECK:         %t = exec.buffer "t" transient size 16 offset [[T:[0-9]+]]
// CHECK-NEXT:    %e = exec.buffer "e" transient size 16 offset [[T]]
exec.plan @programs attributes {targets = ["vulkan"], compiler = "k"} {
  %a = exec.buffer "a" input size 16
  %t = exec.buffer "t" transient size 16
  %e = exec.buffer "e" transient size 16
  %y = exec.buffer "y" output size 16
  %z = exec.buffer "z" output size 16
  exec.kernel @add kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1]
  exec.program @train inputs [] {
    exec.dispatch @add(write %t, read %a, read %a) groups [1, 1, 1]
    exec.dispatch @add(write %y, read %t, read %a) groups [1, 1, 1]
    exec.output "y" %y : tensor<4xf32>
  }
  exec.program @eval inputs [] {
    exec.dispatch @add(write %e, read %a, read %a) groups [1, 1, 1]
    exec.dispatch @add(write %z, read %e, read %a) groups [1, 1, 1]
    exec.output "z" %z : tensor<4xf32>
  }
}

// -----

exec.plan @twice attributes {targets = ["vulkan"], compiler = "k", arena_bytes = 256, alignment = 256} {
  // expected-error @+1 {{buffer 't' is already in an arena; allocate the arena once}}
  %t = exec.buffer "t" transient size 16 offset 0
  exec.program @train inputs [] {
  }
}

// -----

exec.plan @barriers attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{kiln-exec-allocate-arena expects a program without barriers}}
  exec.program @train inputs [] {
    exec.barrier
  }
}
