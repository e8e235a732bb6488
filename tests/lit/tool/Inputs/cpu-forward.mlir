// A forward program of a plain matmul and a pointwise kernel: what the CPU target compiles.
module @cpu_forward {
  graph.variable @w : tensor<29x21xf32> = #graph.init<uniform(-1.0, 1.0), seed = 0, stream = 0>
  func.func @step() {
    %x = graph.input "x" : tensor<37x29xf32>
    %a = graph.input "a" : tensor<5000xf32>
    %w = graph.read @w : tensor<29x21xf32>
    %y = graph.matmul %x, %w : tensor<37x29xf32>, tensor<29x21xf32> -> tensor<37x21xf32>
    %m = graph.mul %a, %a : tensor<5000xf32>
    %z = graph.add %m, %a : tensor<5000xf32>
    graph.output "y", %y : tensor<37x21xf32>
    graph.output "z", %z : tensor<5000xf32>
    return
  }
}
