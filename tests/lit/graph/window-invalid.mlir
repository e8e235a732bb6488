// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// The window views' shape rules and verifiers: each message names the attribute
// and the dimension at fault. pad and concat infer their type, so a bad operand
// is reported by the shape rule and then by MLIR's "failed to infer".

func.func @pad_negative(%x: tensor<2x3xf32>) {
  // expected-error @below {{graph.pad: high[1] (operand dimension 1) is -1; it must be >= 0}}
  // expected-error @below {{failed to infer returned types}}
  %p = graph.pad %x low = [0, 0] high = [0, -1] interior = [0, 0] value = 0.0 : tensor<2x3xf32> -> tensor<2x2xf32>
  return
}

// -----

func.func @pad_entries(%x: tensor<2x3xf32>) {
  // expected-error @below {{graph.pad: interior has 1 entries but there are 2 operand dimensions (one entry each)}}
  // expected-error @below {{failed to infer returned types}}
  %p = graph.pad %x low = [0, 0] high = [0, 0] interior = [1] value = 0.0 : tensor<2x3xf32> -> tensor<3x3xf32>
  return
}

// -----

func.func @pad_wrong_result(%x: tensor<2x3xf32>) {
  // expected-error @below {{'graph.pad' op inferred type(s) 'tensor<3x5xf32>' are incompatible with return type(s) of operation 'tensor<3x4xf32>'}}
  // expected-error @below {{failed to infer returned types}}
  %p = graph.pad %x low = [1, 0] high = [0, 2] interior = [0, 0] value = 0.0 : tensor<2x3xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @slice_past_end(%x: tensor<4x9xf32>) {
  // expected-error @below {{graph.slice: dimension 1 takes 3 elements from start 2 with stride 4, the last at 10, but the operand has 9 there}}
  %s = graph.slice %x start = [0, 2] stride = [1, 4] : tensor<4x9xf32> -> tensor<4x3xf32>
  return
}

// -----

func.func @slice_stride(%x: tensor<4x9xf32>) {
  // expected-error @below {{graph.slice: stride[0] (operand dimension 0) is 0; it must be >= 1}}
  %s = graph.slice %x start = [0, 0] stride = [0, 1] : tensor<4x9xf32> -> tensor<1x9xf32>
  return
}

// -----

func.func @concat_mismatch(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) {
  // expected-error @below {{graph.concat: operand 1 tensor<3x3xf32> has 3 in dimension 0 but operand 0 tensor<2x3xf32> has 2; only the axis (1) may differ}}
  // expected-error @below {{failed to infer returned types}}
  %c = graph.concat %a, %b axis = 1 : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x6xf32>
  return
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>) {
  // expected-error @below {{graph.concat: axis 2 is out of range for operands of rank 2}}
  // expected-error @below {{failed to infer returned types}}
  %c = graph.concat %a axis = 2 : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @window_too_large(%x: tensor<1x1x2x8xf32>) {
  // expected-error @below {{graph.window: operand dimension 2 (windowed dimension 0) has 2 elements, fewer than the dilated window 3 (window 3, dilation 1)}}
  %w = graph.window %x window = [3, 3] stride = [1, 1] dilation = [1, 1] : tensor<1x1x2x8xf32> -> tensor<1x1x1x6x3x3xf32>
  return
}

// -----

func.func @window_count(%x: tensor<1x1x5x5xf32>) {
  // expected-error @below {{graph.window: result dimension 3 (the windows of windowed dimension 1) is 3 but 5 elements (operand dimension 3) give 2 windows of 2 with stride 2 and dilation 1}}
  %w = graph.window %x window = [2, 2] stride = [2, 2] dilation = [1, 1] : tensor<1x1x5x5xf32> -> tensor<1x1x2x3x2x2xf32>
  return
}

// -----

func.func @window_taps(%x: tensor<1x1x5x5xf32>) {
  // expected-error @below {{graph.window: result dimension 5 (the taps of windowed dimension 1) is 3 but window[1] is 2}}
  %w = graph.window %x window = [2, 2] stride = [2, 2] dilation = [1, 1] : tensor<1x1x5x5xf32> -> tensor<1x1x2x2x2x3xf32>
  return
}

// -----

func.func @window_dilation(%x: tensor<1x1x5x5xf32>) {
  // expected-error @below {{graph.window: dilation[0] (windowed dimension 0) is 0; it must be >= 1}}
  %w = graph.window %x window = [2, 2] stride = [2, 2] dilation = [0, 1] : tensor<1x1x5x5xf32> -> tensor<1x1x2x2x2x2xf32>
  return
}

// -----

func.func @unwindow_rank(%g: tensor<1x1x2x2x2x2xf32>) {
  // expected-error @below {{graph.unwindow: the result tensor<1x1x5x5xf32> has rank 4 but the operand tensor<1x1x2x2x2x2xf32> has rank 6; they must be equal ([..., O, K] -> [..., S, K])}}
  %u = graph.unwindow %g window = [2, 2] stride = [2, 2] dilation = [1, 1] : tensor<1x1x2x2x2x2xf32> -> tensor<1x1x5x5xf32>
  return
}

// -----

func.func @unwindow_windows(%g: tensor<1x1x2x2x2x2xf32>) {
  // expected-error @below {{graph.unwindow: operand dimension 2 (the windows of windowed dimension 0) is 2 but 7 elements (result dimension 2) give 3 windows of 2 with stride 2 and dilation 1}}
  %u = graph.unwindow %g window = [2, 2] stride = [2, 2] dilation = [1, 1] : tensor<1x1x2x2x2x2xf32> -> tensor<1x1x7x5x2x2xf32>
  return
}

// -----

func.func @iota_dims() {
  // expected-error @below {{graph.iota: dims [1, 0] must be sorted and distinct}}
  %i = graph.iota dims = [1, 0] : tensor<2x3xf32>
  return
}
