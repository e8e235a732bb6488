//===- OpRegistry.cpp - One entry per graph op, with samples -------------===//
//
// Samples cover what each op's lowering must get right: broadcasting a vector
// over rows and a size-1 dimension, reductions over the first, the last and
// two axes of a rank-3 tensor, every matmul transpose combination and a
// batched case, softmax along each axis, out-of-range one_hot labels.
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"

#include <cmath>
#include <sstream>

namespace kiln::ops_test {

ElementType elementTypeOf(Draw draw) {
  switch (draw) {
  case Draw::kLabels:
  case Draw::kAnyLabels:
    return ElementType::kI32;
  case Draw::kMask:
    return ElementType::kI1;
  default:
    return ElementType::kF32;
  }
}

std::string tensorType(const Shape &shape, ElementType type) {
  std::ostringstream out;
  out << "tensor<";
  for (int64_t d : shape)
    out << d << "x";
  out << (type == ElementType::kF32 ? "f32" : type == ElementType::kI32 ? "i32" : "i1") << ">";
  return out.str();
}

namespace {

std::string list(const std::vector<int64_t> &values) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < values.size(); ++i)
    out << (i ? ", " : "") << values[i];
  out << "]";
  return out.str();
}

/// `attributes` is the op's assembly between its operand and the colon
/// (" exponent = 3.0").
OpSample unary(std::string op, std::string sample, Shape shape, Draw draw,
               std::function<double(double)> f, std::string attributes = "") {
  std::string type = tensorType(shape);
  return {op,
          std::move(sample),
          {{shape, draw}},
          shape,
          ElementType::kF32,
          "%result = graph." + op + " %arg0" + attributes + " : " + type,
          [f](const std::vector<Tensor> &x) { return map(x[0], f); }};
}

OpSample binary(std::string op, std::string sample, Shape shape, Draw lhs, Draw rhs,
                std::function<double(double, double)> f) {
  std::string type = tensorType(shape);
  return {op,
          std::move(sample),
          {{shape, lhs}, {shape, rhs}},
          shape,
          ElementType::kF32,
          "%result = graph." + op + " %arg0, %arg1 : " + type,
          [f](const std::vector<Tensor> &x) { return zip(x[0], x[1], f); }};
}

OpSample compare(std::string predicate, std::function<bool(double, double)> f) {
  Shape shape = {3, 4};
  return {"compare",
          predicate,
          {{shape, Draw::kFewValues}, {shape, Draw::kFewValues}},
          shape,
          ElementType::kI1,
          "%result = graph.compare " + predicate + ", %arg0, %arg1 : " + tensorType(shape),
          [f](const std::vector<Tensor> &x) {
            return zip(x[0], x[1], [f](double a, double b) { return f(a, b) ? 1.0 : 0.0; });
          },
          false};
}

OpSample broadcast(std::string sample, Shape from, std::vector<int64_t> dims, Shape to) {
  return {"broadcast",
          std::move(sample),
          {{from}},
          to,
          ElementType::kF32,
          "%result = graph.broadcast %arg0 " + list(dims) + " : " + tensorType(from) + " to " +
              tensorType(to),
          [dims, to](const std::vector<Tensor> &x) { return broadcast(x[0], dims, to); }};
}

OpSample reshape(std::string sample, Shape from, Shape to) {
  return {"reshape",
          std::move(sample),
          {{from}},
          to,
          ElementType::kF32,
          "%result = graph.reshape %arg0 : " + tensorType(from) + " to " + tensorType(to),
          [](const std::vector<Tensor> &x) { return x[0].values; }};
}

OpSample transpose(std::string sample, Shape from, std::vector<int64_t> perm) {
  Shape to;
  for (int64_t p : perm)
    to.push_back(from[p]);
  return {"transpose",
          std::move(sample),
          {{from}},
          to,
          ElementType::kF32,
          "%result = graph.transpose %arg0 " + list(perm) + " : " + tensorType(from) + " -> " +
              tensorType(to),
          [perm](const std::vector<Tensor> &x) { return transpose(x[0], perm); }};
}

OpSample reduction(std::string op, Reduction kind, std::string sample, Shape from,
                   std::vector<int64_t> axes) {
  Shape to;
  for (int64_t d = 0; d < static_cast<int64_t>(from.size()); ++d)
    if (!std::count(axes.begin(), axes.end(), d))
      to.push_back(from[d]);
  return {op,
          std::move(sample),
          {{from}},
          to,
          ElementType::kF32,
          "%result = graph." + op + " %arg0 " + list(axes) + " : " + tensorType(from) + " -> " +
              tensorType(to),
          [axes, kind](const std::vector<Tensor> &x) { return reduce(x[0], axes, kind); }};
}

void addReductions(std::vector<OpSample> &registry, const std::string &op, Reduction kind) {
  registry.push_back(reduction(op, kind, "first_axis", {4, 3}, {0}));
  registry.push_back(reduction(op, kind, "last_axis", {4, 3}, {1}));
  registry.push_back(reduction(op, kind, "two_axes_of_rank3", {2, 3, 4}, {0, 2}));
  registry.push_back(reduction(op, kind, "middle_axis_of_rank3", {2, 3, 4}, {1}));
  registry.push_back(reduction(op, kind, "all_axes", {3, 4}, {0, 1}));
}

OpSample matmul(std::string sample, Shape lhs, Shape rhs, bool transposeLhs, bool transposeRhs) {
  size_t rank = lhs.size();
  Shape to(lhs.begin(), lhs.end() - 2);
  to.push_back(transposeLhs ? lhs[rank - 1] : lhs[rank - 2]);
  to.push_back(transposeRhs ? rhs[rank - 2] : rhs[rank - 1]);
  std::string flags =
      std::string(transposeLhs ? " transpose_lhs" : "") + (transposeRhs ? " transpose_rhs" : "");
  return {"matmul",
          std::move(sample),
          {{lhs}, {rhs}},
          to,
          ElementType::kF32,
          "%result = graph.matmul %arg0, %arg1" + flags + " : " + tensorType(lhs) + ", " +
              tensorType(rhs) + " -> " + tensorType(to),
          [transposeLhs, transposeRhs](const std::vector<Tensor> &x) {
            return matmul(x[0], x[1], transposeLhs, transposeRhs);
          }};
}

OpSample softmaxLike(bool logarithm, std::string sample, Shape shape, int64_t axis) {
  std::string op = logarithm ? "log_softmax" : "softmax";
  return {
      op,
      std::move(sample),
      {{shape}},
      shape,
      ElementType::kF32,
      "%result = graph." + op + " %arg0 axis = " + std::to_string(axis) + " : " + tensorType(shape),
      [axis, logarithm](const std::vector<Tensor> &x) { return softmax(x[0], axis, logarithm); }};
}

OpSample oneHot(std::string sample, Shape labels, int64_t classes, Draw draw) {
  Shape to = labels;
  to.push_back(classes);
  return {"one_hot",
          std::move(sample),
          {{labels, draw, classes}},
          to,
          ElementType::kF32,
          "%result = graph.one_hot %arg0 : " + tensorType(labels, ElementType::kI32) + " to " +
              tensorType(to),
          [classes](const std::vector<Tensor> &x) { return oneHot(x[0], classes); },
          false};
}

OpSample crossEntropy(std::string sample, int64_t rows, int64_t classes) {
  Shape logits = {rows, classes};
  return {"softmax_cross_entropy",
          std::move(sample),
          {{logits}, {{rows}, Draw::kLabels, classes}},
          {rows},
          ElementType::kF32,
          "%result = graph.softmax_cross_entropy %arg0, %arg1 : " + tensorType(logits) + ", " +
              tensorType({rows}, ElementType::kI32) + " -> " + tensorType({rows}),
          [](const std::vector<Tensor> &x) { return softmaxCrossEntropy(x[0], x[1]); }};
}

OpSample mse(std::string sample, Shape shape) {
  return {"mse",
          std::move(sample),
          {{shape}, {shape}},
          {},
          ElementType::kF32,
          "%result = graph.mse %arg0, %arg1 : " + tensorType(shape) + " -> tensor<f32>",
          [](const std::vector<Tensor> &x) { return meanSquaredError(x[0], x[1]); }};
}

OpSample constant(std::string sample, Shape shape, ElementType type, std::string literal,
                  std::vector<double> values) {
  return {"constant",
          std::move(sample),
          {},
          shape,
          type,
          "%result = graph.constant " + literal + " : " + tensorType(shape, type),
          [values](const std::vector<Tensor> &) { return values; },
          false};
}

std::vector<OpSample> buildRegistry() {
  std::vector<OpSample> r;
  Shape matrix = {3, 4};

  r.push_back(binary("add", "matrix", matrix, Draw::kUniform, Draw::kUniform,
                     [](double a, double b) { return a + b; }));
  r.push_back(binary("add", "scalar", {}, Draw::kUniform, Draw::kUniform,
                     [](double a, double b) { return a + b; }));
  r.push_back(binary("add", "rank3", {2, 3, 4}, Draw::kUniform, Draw::kUniform,
                     [](double a, double b) { return a + b; }));
  r.push_back(binary("sub", "matrix", matrix, Draw::kUniform, Draw::kUniform,
                     [](double a, double b) { return a - b; }));
  r.push_back(binary("mul", "matrix", matrix, Draw::kUniform, Draw::kUniform,
                     [](double a, double b) { return a * b; }));
  r.push_back(binary("div", "matrix", matrix, Draw::kUniform, Draw::kAwayFromZero,
                     [](double a, double b) { return a / b; }));
  r.push_back(binary("max", "matrix", matrix, Draw::kUniform, Draw::kUniform,
                     [](double a, double b) { return std::max(a, b); }));

  r.push_back(unary("neg", "matrix", matrix, Draw::kUniform, [](double x) { return -x; }));
  r.push_back(unary("exp", "matrix", matrix, Draw::kUniform, [](double x) { return std::exp(x); }));
  r.push_back(
      unary("log", "matrix", matrix, Draw::kPositive, [](double x) { return std::log(x); }));
  r.push_back(
      unary("sqrt", "matrix", matrix, Draw::kPositive, [](double x) { return std::sqrt(x); }));
  r.push_back(
      unary("relu", "matrix", matrix, Draw::kUniform, [](double x) { return x > 0 ? x : 0.0; }));
  r.push_back(
      unary("tanh", "matrix", matrix, Draw::kUniform, [](double x) { return std::tanh(x); }));
  r.push_back(unary("sigmoid", "matrix", matrix, Draw::kUniform,
                    [](double x) { return 1 / (1 + std::exp(-x)); }));

  r.push_back(binary("minimum", "matrix", matrix, Draw::kUniform, Draw::kUniform,
                     [](double a, double b) { return std::min(a, b); }));
  r.push_back(unary("silu", "matrix", matrix, Draw::kUniform,
                    [](double x) { return x / (1 + std::exp(-x)); }));
  r.push_back(unary("erf", "matrix", matrix, Draw::kUniform, [](double x) { return std::erf(x); }));
  // Away from the kink at 0, where finite differences do not apply.
  r.push_back(
      unary("abs", "matrix", matrix, Draw::kAwayFromZero, [](double x) { return std::fabs(x); }));
  r.push_back(
      unary("rsqrt", "matrix", matrix, Draw::kPositive, [](double x) { return 1 / std::sqrt(x); }));
  r.push_back(unary("square", "matrix", matrix, Draw::kUniform, [](double x) { return x * x; }));
  r.push_back(
      unary("log1p", "matrix", matrix, Draw::kPositive, [](double x) { return std::log1p(x); }));
  r.push_back(unary("gelu", "exact", matrix, Draw::kUniform,
                    [](double x) { return x * 0.5 * std::erfc(-x / std::sqrt(2.0)); }));
  r.push_back(unary(
      "gelu", "tanh", matrix, Draw::kUniform,
      [](double x) {
        double u = std::sqrt(2 / M_PI) * (x + 0.044715 * std::pow(x, 3));
        return 0.5 * x * (1 + std::tanh(u));
      },
      " approximate = tanh"));
  r.push_back(unary(
      "pow", "cube", matrix, Draw::kUniform, [](double x) { return x * x * x; },
      " exponent = 3.0"));
  r.push_back(unary(
      "pow", "negative_integer", matrix, Draw::kAwayFromZero, [](double x) { return 1 / (x * x); },
      " exponent = -2.0"));
  r.push_back(unary(
      "pow", "fractional", matrix, Draw::kPositive, [](double x) { return x * std::sqrt(x); },
      " exponent = 1.5"));
  r.push_back(unary(
      "clamp", "matrix", matrix, Draw::kUniform,
      [](double x) { return x < -1    ? -1
                            : x > 1.5 ? 1.5
                                      : x; }, " min = -1.0, max = 1.5"));
  r.push_back(unary("leaky_relu", "default_slope", matrix, Draw::kAwayFromZero,
                    [](double x) { return x > 0 ? x : 0.01 * x; }));
  r.push_back(unary(
      "leaky_relu", "slope", matrix, Draw::kAwayFromZero,
      [](double x) { return x > 0 ? x : 0.2 * x; }, " negative_slope = 0.2"));
  r.push_back(unary("softplus", "default", matrix, Draw::kUniform,
                    [](double x) { return std::log(1 + std::exp(x)); }));
  // beta x > threshold for x > 0.5: both branches are sampled.
  r.push_back(unary(
      "softplus", "beta_threshold", matrix, Draw::kUniform,
      [](double x) { return 2 * x > 1 ? x : std::log(1 + std::exp(2 * x)) / 2; },
      " beta = 2.0 threshold = 1.0"));

  r.push_back(compare("eq", [](double a, double b) { return a == b; }));
  r.push_back(compare("ne", [](double a, double b) { return a != b; }));
  r.push_back(compare("lt", [](double a, double b) { return a < b; }));
  r.push_back(compare("le", [](double a, double b) { return a <= b; }));
  r.push_back(compare("gt", [](double a, double b) { return a > b; }));
  r.push_back(compare("ge", [](double a, double b) { return a >= b; }));
  r.push_back({"select",
               "matrix",
               {{matrix, Draw::kMask}, {matrix}, {matrix}},
               matrix,
               ElementType::kF32,
               "%result = graph.select %arg0, %arg1, %arg2 : " +
                   tensorType(matrix, ElementType::kI1) + ", " + tensorType(matrix),
               [](const std::vector<Tensor> &x) {
                 std::vector<double> out;
                 for (size_t i = 0; i < x[0].values.size(); ++i)
                   out.push_back(x[0].values[i] != 0 ? x[1].values[i] : x[2].values[i]);
                 return out;
               }});

  r.push_back(broadcast("vector_over_rows", {4}, {1}, {3, 4}));
  r.push_back(broadcast("vector_over_columns", {3}, {0}, {3, 4}));
  r.push_back(broadcast("size1_dim", {3, 1}, {0, 1}, {3, 4}));
  r.push_back(broadcast("size1_leading_dim", {1, 4}, {0, 1}, {3, 4}));
  r.push_back(broadcast("scalar", {}, {}, {2, 3}));
  r.push_back(broadcast("new_middle_dim", {2, 4}, {0, 2}, {2, 3, 4}));
  r.push_back(reshape("matrix_to_matrix", {2, 6}, {3, 4}));
  r.push_back(reshape("vector_to_rank3", {12}, {2, 2, 3}));
  r.push_back(reshape("to_scalar", {1, 1}, {}));
  r.push_back(transpose("matrix", {3, 4}, {1, 0}));
  r.push_back(transpose("rank3_rotate", {2, 3, 4}, {2, 0, 1}));
  r.push_back(transpose("rank3_last_two", {2, 3, 4}, {0, 2, 1}));

  addReductions(r, "reduce_sum", Reduction::kSum);
  addReductions(r, "reduce_mean", Reduction::kMean);
  addReductions(r, "reduce_max", Reduction::kMax);

  r.push_back(matmul("plain", {3, 4}, {4, 5}, false, false));
  r.push_back(matmul("transpose_lhs", {4, 3}, {4, 5}, true, false));
  r.push_back(matmul("transpose_rhs", {3, 4}, {5, 4}, false, true));
  r.push_back(matmul("transpose_both", {4, 3}, {5, 4}, true, true));
  r.push_back(matmul("batched", {2, 3, 4}, {2, 4, 5}, false, false));
  r.push_back(matmul("batched_transpose_lhs", {2, 4, 3}, {2, 4, 5}, true, false));
  r.push_back(matmul("batched_transpose_rhs", {2, 3, 4}, {2, 5, 4}, false, true));
  r.push_back(matmul("rank4_batch", {2, 2, 3, 2}, {2, 2, 2, 3}, false, false));
  r.push_back(matmul("five_rows", {5, 4}, {4, 3}, false, false));
  // Large enough for a device's register or tile blocking, with ragged edges.
  r.push_back(matmul("ragged_blocks", {9, 7}, {7, 19}, false, false));
  r.push_back(matmul("ragged_blocks_transpose_rhs", {2, 9, 7}, {2, 19, 7}, false, true));

  for (bool logarithm : {false, true}) {
    r.push_back(softmaxLike(logarithm, "axis0", matrix, 0));
    r.push_back(softmaxLike(logarithm, "axis1", matrix, 1));
    r.push_back(softmaxLike(logarithm, "rank3_axis1", {2, 3, 4}, 1));
  }

  r.push_back(oneHot("labels", {5}, 4, Draw::kLabels));
  r.push_back(oneHot("out_of_range_labels", {8}, 4, Draw::kAnyLabels));
  r.push_back(oneHot("rank2_labels", {2, 3}, 4, Draw::kLabels));
  r.push_back(crossEntropy("batch4_classes5", 4, 5));
  r.push_back(crossEntropy("one_example", 1, 3));
  r.push_back(mse("matrix", matrix));
  r.push_back(mse("vector", {5}));

  r.push_back(constant("f32", {2, 3}, ElementType::kF32,
                       "dense<[[1.5, -2.0, 0.25], [3.0, 0.0, -0.125]]>",
                       {1.5, -2.0, 0.25, 3.0, 0.0, -0.125}));
  r.push_back(
      constant("f32_splat", {2, 2}, ElementType::kF32, "dense<0.75>", {0.75, 0.75, 0.75, 0.75}));
  r.push_back(constant("i32", {3}, ElementType::kI32, "dense<[7, -1, 0]>", {7, -1, 0}));
  r.push_back(constant("i1", {3}, ElementType::kI1, "dense<[true, false, true]>", {1, 0, 1}));
  appendConvSamples(r);
  appendWindowSamples(r);
  appendTrainingSamples(r);
  appendIndexSamples(r);
  appendAttentionSamples(r);
  return r;
}

} // namespace

const std::vector<OpSample> &opRegistry() {
  static const std::vector<OpSample> registry = buildRegistry();
  return registry;
}

} // namespace kiln::ops_test
