// RUN: kiln-opt %s | FileCheck %s
// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// Every exec op, printed and parsed back: a planned SGD step with an eval
// program, an arena, a barrier, an assign copy, a constant and compiled code.

// CHECK-LABEL: exec.plan @sgd attributes
// CHECK-SAME:      alignment = 256 : i64
// CHECK-SAME:      arena_bytes = 512 : i64
// CHECK-SAME:      targets = ["vulkan", "cuda"]
// CHECK:         %w = exec.buffer "w" variable size 16
// CHECK-NEXT:    exec.variable "w" %w trainable : tensor<4xf32> = <uniform(-1.000000e-01, 1.000000e-01), seed = 7, stream = 2>
// CHECK-NEXT:    %x = exec.buffer "x" input size 16
// CHECK-NEXT:    exec.input "x" %x : tensor<4xf32>
// CHECK-NEXT:    %lr = exec.buffer "lr" input size 4
// CHECK-NEXT:    exec.input "lr" %lr : tensor<f32> default dense<1.000000e-01> : tensor<f32>
// CHECK-NEXT:    %mask = exec.buffer "mask" input size 4
// CHECK-NEXT:    exec.input "mask" %mask : tensor<3xi1>
// CHECK-NEXT:    %half = exec.buffer "half" constant size 4 {data = array<i32: 1056964608>}
// CHECK-NEXT:    %t = exec.buffer "t" transient size 16 offset 0
// CHECK-NEXT:    %t_0 = exec.buffer "t" transient size 16 offset 256
// CHECK-NEXT:    %y = exec.buffer "y" output size 16
// CHECK-NEXT:    %loss = exec.buffer "loss" output size 4
// CHECK-NEXT:    exec.kernel @mul kind "pointwise" bindings (write, read, read) workgroup [64, 1, 1] {compute_ops = 1 : i64, in_place = array<i32: 0, 1>, layers = ["fc"], ptx = {sm_80 = ".version 8.0"}, source_ops = {{\[\["graph.mul", "model.cc:3:4"\]\]}}, spirv = "\03\02#\07"}
// CHECK-NEXT:    exec.kernel @push kind "custom" bindings (read, write) workgroup [1, 1, 1] {entry_point = "main", push_constant_size = 8 : i64}
// CHECK-NEXT:    exec.program @train inputs ["x", "lr"] {
// CHECK-NEXT:      exec.dispatch @mul(write %t, read %x, read %w) groups [1, 1, 1]
// CHECK-NEXT:      exec.barrier
// CHECK-NEXT:      exec.dispatch @mul(write %y, read %t, read %half) groups [1, 1, 1]
// CHECK-NEXT:      exec.output "y" %y : tensor<4xf32>
// CHECK-NEXT:      exec.dispatch @push(read %lr, write %t_0) groups [1, 2, 3] {push_constants = array<i32: 1, 2>}
// CHECK-NEXT:      exec.barrier
// CHECK-NEXT:      exec.copy %t_0 to %w size 16
// CHECK-NEXT:    }
// CHECK-NEXT:    exec.program @eval inputs ["x"] {
// CHECK-NEXT:      exec.output "loss" %loss : tensor<f32>
// CHECK-NEXT:      exec.dispatch @mul(write %loss, read %x, read %w) groups [1, 1, 1]
// CHECK-NEXT:    }
// CHECK-NEXT:    exec.program @legacy inputs [] attributes {implicit_io}
exec.plan @sgd attributes {targets = ["vulkan", "cuda"], compiler = "kiln 0.1.0",
                           arena_bytes = 512, alignment = 256} {
  %w = exec.buffer "w" variable size 16
  exec.variable "w" %w trainable : tensor<4xf32> = <uniform(-0.1, 0.1), seed = 7, stream = 2>
  %x = exec.buffer "x" input size 16
  exec.input "x" %x : tensor<4xf32>
  %lr = exec.buffer "lr" input size 4
  exec.input "lr" %lr : tensor<f32> default dense<0.1> : tensor<f32>
  %mask = exec.buffer "mask" input size 4
  exec.input "mask" %mask : tensor<3xi1>
  %half = exec.buffer "half" constant size 4 {data = array<i32: 1056964608>}
  %t = exec.buffer "t" transient size 16 offset 0
  %t2 = exec.buffer "t" transient size 16 offset 256
  %y = exec.buffer "y" output size 16
  %loss = exec.buffer "loss" output size 4
  exec.kernel @mul kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1]
      {in_place = array<i32: 0, 1>, layers = ["fc"], compute_ops = 1,
       source_ops = [["graph.mul", "model.cc:3:4"]], spirv = "\03\02\23\07",
       ptx = {sm_80 = ".version 8.0"}}
  exec.kernel @push kind "custom" bindings(read, write) workgroup [1, 1, 1]
      {entry_point = "main", push_constant_size = 8}
  exec.program @train inputs ["x", "lr"] {
    exec.dispatch @mul(write %t, read %x, read %w) groups [1, 1, 1]
    exec.barrier
    exec.dispatch @mul(write %y, read %t, read %half) groups [1, 1, 1]
    exec.output "y" %y : tensor<4xf32>
    exec.dispatch @push(read %lr, write %t2) groups [1, 2, 3] {push_constants = array<i32: 1, 2>}
    exec.barrier
    exec.copy %t2 to %w size 16
  }
  exec.program @eval inputs ["x"] {
    exec.output "loss" %loss : tensor<f32>
    exec.dispatch @mul(write %loss, read %x, read %w) groups [1, 1, 1]
  }
  exec.program @legacy inputs [] attributes {implicit_io} {
  }
}
