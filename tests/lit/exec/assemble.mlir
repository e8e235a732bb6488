// RUN: kiln-opt %s --kiln-fuse --kiln-emit-kernels --kiln-exec-assemble | FileCheck %s
// RUN: kiln-opt %s --kiln-fuse --kiln-emit-kernels --kiln-exec-assemble | kiln-opt | FileCheck %s

// kiln-exec-assemble: variables, inputs and kernel results become buffers with
// their roles; each kernel call a dispatch whose bindings say what it writes;
// an output of a transient names it (its role becomes output), an output of an
// input gets a copy; assigns become copies at the end, saving a variable first
// when another assign reads its old value (a swap); @eval is a second program
// over the same buffers. No barriers yet, no arena yet; the graph program is
// gone and each kernel's gpu.module sits beside the plan.

// CHECK-LABEL: module @assemble
// CHECK:       exec.plan @assemble attributes {compiler = "kiln 0.1.0", targets = ["vulkan", "cuda"]} {
// CHECK-NEXT:    %w = exec.buffer "w" variable size 16
// CHECK-NEXT:    exec.variable "w" %w trainable : tensor<4xf32> = <uniform(-5.000000e-01, 5.000000e-01), seed = 3, stream = 0>
// CHECK-NEXT:    %a = exec.buffer "a" variable size 16
// CHECK-NEXT:    exec.variable "a" %a : tensor<4xf32> = <constant(1.000000e+00, 0.000000e+00), seed = 0, stream = 1>
// CHECK-NEXT:    %b = exec.buffer "b" variable size 16
// CHECK-NEXT:    exec.variable "b" %b
// CHECK-NEXT:    %x = exec.buffer "x" input size 16
// CHECK-NEXT:    exec.input "x" %x : tensor<4xf32>
// CHECK-NEXT:    exec.kernel @step_mul_sub kind "pointwise" bindings (write, write, read, read) workgroup [256, 1, 1] code @step_mul_sub_gpu
// CHECK-SAME:        in_place = array<i32: 0, 2, 0, 3, 1, 2, 1, 3>
// CHECK-SAME:        source_ops = {{\[\["graph.mul", ".*assemble.mlir:[0-9]+:[0-9]+"\], \["graph.sub", ".*"\]\]}}
// CHECK-NEXT:    %step_mul_sub.0 = exec.buffer "step_mul_sub.0" output size 16
// CHECK-NEXT:    %step_mul_sub.1 = exec.buffer "step_mul_sub.1" transient size 16
// CHECK-NEXT:    %x_again = exec.buffer "x_again" output size 16
// CHECK-NEXT:    %b.previous = exec.buffer "b.previous" transient size 16
// CHECK-NEXT:    %a.previous = exec.buffer "a.previous" transient size 16
// CHECK-NEXT:    exec.kernel @step_mul kind "pointwise" bindings (write, read, read)
// CHECK-NEXT:    %step_mul.0 = exec.buffer "step_mul.0" output size 16
// CHECK-NEXT:    exec.program @train inputs ["x"] {
// CHECK-NEXT:      exec.dispatch @step_mul_sub(write %step_mul_sub.0, write %step_mul_sub.1, read %x, read %w) groups [1, 1, 1]
// CHECK-NEXT:      exec.output "y" %step_mul_sub.0 : tensor<4xf32>
// CHECK-NEXT:      exec.copy %x to %x_again size 16
// CHECK-NEXT:      exec.output "x_again" %x_again : tensor<4xf32>
// CHECK-NEXT:      exec.copy %b to %b.previous size 16
// CHECK-NEXT:      exec.copy %a to %a.previous size 16
// CHECK-NEXT:      exec.copy %step_mul_sub.1 to %w size 16
// CHECK-NEXT:      exec.copy %b.previous to %a size 16
// CHECK-NEXT:      exec.copy %a.previous to %b size 16
// CHECK-NEXT:    }
// CHECK-NEXT:    exec.program @eval inputs ["x"] {
// CHECK-NEXT:      exec.dispatch @step_mul(write %step_mul.0, read %x, read %w) groups [1, 1, 1]
// CHECK-NEXT:      exec.output "y" %step_mul.0 : tensor<4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:  }
// CHECK-NOT:   func.func
// CHECK-NOT:   graph.variable
// CHECK:       gpu.module @step_mul_sub_gpu
// CHECK:       gpu.module @step_mul_gpu
module @assemble {
  graph.variable @w trainable : tensor<4xf32> = #graph.init<uniform(-0.5, 0.5), seed = 3, stream = 0>
  graph.variable @a : tensor<4xf32> = #graph.init<constant(1.0), seed = 0, stream = 1>
  graph.variable @b : tensor<4xf32> = #graph.init<constant(2.0), seed = 0, stream = 2>
  func.func @step() {
    %x = graph.input "x" : tensor<4xf32>
    %w = graph.read @w : tensor<4xf32>
    %a = graph.read @a : tensor<4xf32>
    %b = graph.read @b : tensor<4xf32>
    %y = graph.mul %x, %w : tensor<4xf32>
    graph.output "y", %y : tensor<4xf32>
    graph.output "x_again", %x : tensor<4xf32>
    %n = graph.sub %w, %y : tensor<4xf32>
    graph.assign @w, %n : tensor<4xf32>
    graph.assign @a, %b : tensor<4xf32>
    graph.assign @b, %a : tensor<4xf32>
    return
  }
  func.func @eval() {
    %x = graph.input "x" : tensor<4xf32>
    %w = graph.read @w : tensor<4xf32>
    %y = graph.mul %x, %w : tensor<4xf32>
    graph.output "y", %y : tensor<4xf32>
    return
  }
}
