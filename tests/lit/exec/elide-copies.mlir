// RUN: kiln-opt %s --split-input-file --kiln-exec-elide-copies --verify-diagnostics | FileCheck %s

// kiln-exec-elide-copies: a dispatch that computes a variable's new value
// writes the variable itself when its kernel pairs the result with the
// variable's binding in place and nothing in between touches the variable.

// CHECK-LABEL: exec.plan @sgd
// CHECK-SAME:      elided_copies = 1 : i64
// CHECK-SAME:      naive_bytes = 16 : i64
// CHECK-NOT:     "w.next"
// CHECK:         exec.program @train
// CHECK-NEXT:      exec.dispatch @sgd(write %w, read %w, read %g) groups [1, 1, 1]
// CHECK-NEXT:    }
exec.plan @sgd attributes {targets = ["vulkan"], compiler = "k"} {
  %w = exec.buffer "w" variable size 16
  exec.variable "w" %w trainable : tensor<4xf32> = <constant(0.0, 0.0), seed = 0, stream = 0>
  %g = exec.buffer "g" input size 16
  exec.input "g" %g : tensor<4xf32>
  %next = exec.buffer "w.next" transient size 16
  exec.kernel @sgd kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1] {in_place = array<i32: 0, 1>}
  exec.program @train inputs ["g"] {
    exec.dispatch @sgd(write %next, read %w, read %g) groups [1, 1, 1]
    exec.copy %next to %w size 16
  }
}

// -----

// Without the in-place pair the kernel may read w[j] after writing w[i]: kept.

// CHECK-LABEL: exec.plan @unpaired
// CHECK-SAME:      elided_copies = 0 : i64
// CHECK:           exec.dispatch @sgd(write %w.next, read %w, read %g)
// CHECK-NEXT:      exec.copy %w.next to %w size 16
exec.plan @unpaired attributes {targets = ["vulkan"], compiler = "k"} {
  %w = exec.buffer "w" variable size 16
  %g = exec.buffer "g" input size 16
  %next = exec.buffer "w.next" transient size 16
  exec.kernel @sgd kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1]
  exec.program @train inputs [] {
    exec.dispatch @sgd(write %next, read %w, read %g) groups [1, 1, 1]
    exec.copy %next to %w size 16
  }
}

// -----

// A later dispatch reads the variable's old value before the copy: kept.

// CHECK-LABEL: exec.plan @read_between
// CHECK-SAME:      elided_copies = 0 : i64
// CHECK:           exec.copy %w.next to %w size 16
exec.plan @read_between attributes {targets = ["vulkan"], compiler = "k"} {
  %w = exec.buffer "w" variable size 16
  %g = exec.buffer "g" input size 16
  %next = exec.buffer "w.next" transient size 16
  %y = exec.buffer "y" output size 16
  exec.kernel @sgd kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1] {in_place = array<i32: 0, 1>}
  exec.program @train inputs [] {
    exec.dispatch @sgd(write %next, read %w, read %g) groups [1, 1, 1]
    exec.dispatch @sgd(write %y, read %w, read %g) groups [1, 1, 1]
    exec.output "y" %y : tensor<4xf32>
    exec.copy %next to %w size 16
  }
}

// -----

// The new value is also read by another program: kept (it would read the variable).

// CHECK-LABEL: exec.plan @shared
// CHECK-SAME:      elided_copies = 0 : i64
// CHECK:           exec.copy %w.next to %w size 16
exec.plan @shared attributes {targets = ["vulkan"], compiler = "k"} {
  %w = exec.buffer "w" variable size 16
  %g = exec.buffer "g" input size 16
  %next = exec.buffer "w.next" transient size 16
  %y = exec.buffer "y" output size 16
  exec.kernel @sgd kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1] {in_place = array<i32: 0, 1>}
  exec.program @train inputs [] {
    exec.dispatch @sgd(write %next, read %w, read %g) groups [1, 1, 1]
    exec.copy %next to %w size 16
  }
  exec.program @eval inputs [] {
    exec.copy %next to %y size 16
    exec.output "y" %y : tensor<4xf32>
  }
}

// -----

// A value read before the dispatch that writes it: kept.

// CHECK-LABEL: exec.plan @read_before
// CHECK-SAME:      elided_copies = 0 : i64
exec.plan @read_before attributes {targets = ["vulkan"], compiler = "k"} {
  %w = exec.buffer "w" variable size 16
  %g = exec.buffer "g" input size 16
  %next = exec.buffer "w.next" transient size 16
  %y = exec.buffer "y" output size 16
  exec.kernel @sgd kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1] {in_place = array<i32: 0, 1>}
  exec.program @train inputs [] {
    exec.dispatch @sgd(write %y, read %next, read %g) groups [1, 1, 1]
    exec.output "y" %y : tensor<4xf32>
    exec.dispatch @sgd(write %next, read %w, read %g) groups [1, 1, 1]
    exec.copy %next to %w size 16
  }
}

// -----

exec.plan @barriers attributes {targets = ["vulkan"], compiler = "k"} {
  // expected-error @+1 {{kiln-exec-elide-copies expects a program without barriers}}
  exec.program @train inputs [] {
    exec.barrier
  }
}
