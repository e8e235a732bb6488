//===- ConvGeometryTest.cpp - The conv ops' GEMM index, on integers -------===//
//
// ConvGeometry.h is what every compiled conv kernel indexes through, so it is
// checked here on its own over many more configurations than the op registry
// samples (strides 1-3, padding 0-2, dilations 1-2, groups, depthwise,
// non-square shapes): with integer math, each op's grouped GEMM, summed over the
// geometry's (group, row, col, depth), must equal the direct definition of the
// op on integer-valued tensors (exact, so any index mistake shows), and the
// result index must visit every result element exactly once.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Graph/ConvGeometry.h"

#include "gtest/gtest.h"

#include <random>
#include <string>
#include <vector>

namespace kiln::graph {
namespace {

/// ConvGeometry's Math on integers.
struct IntMath {
  using Value = int64_t;
  using Bool = bool;
  Value constant(int64_t v) { return v; }
  Value add(Value a, Value b) { return a + b; }
  Value sub(Value a, Value b) { return a - b; }
  Value mul(Value a, int64_t b) { return a * b; }
  Value div(Value a, int64_t b) { return a / b; }
  Value rem(Value a, int64_t b) { return a % b; }
  Bool inRange(Value v, int64_t limit) { return v >= 0 && v < limit; }
  Bool isZero(Value v) { return v == 0; }
  Bool all(Bool a, Bool b) { return a && b; }
  Bool yes() { return true; }
};

ConvGeometry geometry(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                      ConvParams p) {
  ConvGeometry g;
  g.n = n, g.c = c, g.h = h, g.w = w, g.o = o, g.kh = kh, g.kw = kw, g.params = p;
  g.oh = (h + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0] + 1;
  g.ow = (w + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1] + 1;
  return g;
}

/// The direct definition: for every product term x[xi] * w[wi] -> y[yi] of conv2d.
template <typename F> void forEachTerm(const ConvGeometry &k, F term) {
  int64_t cg = k.c / k.groups(), og = k.o / k.groups();
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t o = 0; o < k.o; ++o)
      for (int64_t y = 0; y < k.oh; ++y)
        for (int64_t x = 0; x < k.ow; ++x)
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t i = 0; i < k.kh; ++i)
              for (int64_t j = 0; j < k.kw; ++j) {
                int64_t iy =
                    y * k.params.stride[0] - k.params.padding[0] + i * k.params.dilation[0];
                int64_t ix =
                    x * k.params.stride[1] - k.params.padding[1] + j * k.params.dilation[1];
                if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w)
                  continue;
                term(((n * k.c + (o / og) * cg + c) * k.h + iy) * k.w + ix,
                     ((o * cg + c) * k.kh + i) * k.kw + j, ((n * k.o + o) * k.oh + y) * k.ow + x);
              }
}

std::vector<int64_t> randomInts(std::mt19937 &random, int64_t count) {
  std::uniform_int_distribution<int64_t> values(-3, 3);
  std::vector<int64_t> out(count);
  for (int64_t &v : out)
    v = values(random);
  return out;
}

/// Runs `kind`'s GEMM through the geometry on operands (lhs, rhs) of the op and compares it
/// with `expected`; also checks that the result index covers every element once.
void checkGemm(ConvGeometry k, ConvKind kind, const std::vector<int64_t> &first,
               const std::vector<int64_t> &second, const std::vector<int64_t> &expected,
               const std::string &what) {
  k.kind = kind;
  IntMath m;
  const std::vector<int64_t> &lhs = k.lhsOperand() == 0 ? first : second;
  const std::vector<int64_t> &rhs = k.rhsOperand() == 0 ? first : second;
  std::array<int64_t, 4> shape = k.resultShape();
  std::vector<int64_t> result(expected.size(), 0), visits(expected.size(), 0);
  for (int64_t g = 0; g < k.groups(); ++g)
    for (int64_t row = 0; row < k.rows(); ++row)
      for (int64_t col = 0; col < k.cols(); ++col) {
        int64_t sum = 0;
        for (int64_t d = 0; d < k.depth(); ++d) {
          ConvAccess<int64_t, bool> a = k.lhsAt(m, g, row, d);
          ConvAccess<int64_t, bool> b = k.rhsAt(m, g, d, col);
          ASSERT_TRUE(a.valid) << what << ": A is always in bounds";
          ASSERT_GE(a.offset, 0) << what;
          ASSERT_LT(a.offset, static_cast<int64_t>(lhs.size())) << what;
          if (!b.valid)
            continue;
          ASSERT_GE(b.offset, 0) << what;
          ASSERT_LT(b.offset, static_cast<int64_t>(rhs.size())) << what;
          sum += lhs[a.offset] * rhs[b.offset];
        }
        std::array<int64_t, 4> at = k.resultAt(m, g, row, col);
        int64_t linear = ((at[0] * shape[1] + at[1]) * shape[2] + at[2]) * shape[3] + at[3];
        ASSERT_GE(linear, 0) << what;
        ASSERT_LT(linear, static_cast<int64_t>(result.size())) << what;
        result[linear] = sum;
        ++visits[linear];
      }
  for (size_t i = 0; i < result.size(); ++i) {
    ASSERT_EQ(visits[i], 1) << what << ": result element " << i;
    ASSERT_EQ(result[i], expected[i]) << what << ": result element " << i;
  }
}

TEST(ConvGeometry, EveryOpIsItsGroupedGemm) {
  std::mt19937 random(13);
  int configurations = 0;
  for (int64_t stride : {1, 2, 3})
    for (int64_t padding : {0, 1, 2})
      for (int64_t dilation : {1, 2})
        for (int64_t groups : {1, 2, 4}) {
          // x [2, 4, 7, 6], w [4 or 8, 4 / groups, 3, 2]; stride and padding differ per axis.
          ConvParams p;
          p.stride = {stride, stride == 1 ? 2 : 1};
          p.padding = {padding, padding == 0 ? 1 : 0};
          p.dilation = {dilation, 1};
          p.groups = groups;
          int64_t o = groups == 4 ? 4 : 8; // groups = C = 4 is depthwise
          ConvGeometry k = geometry(2, 4, 7, 6, o, 3, 2, p);
          if (k.oh < 1 || k.ow < 1)
            continue;
          ++configurations;
          std::string what = "stride " + std::to_string(stride) + " padding " +
                             std::to_string(padding) + " dilation " + std::to_string(dilation) +
                             " groups " + std::to_string(groups);
          int64_t xs = k.n * k.c * k.h * k.w, ws = k.o * (k.c / groups) * k.kh * k.kw;
          int64_t ys = k.n * k.o * k.oh * k.ow;
          std::vector<int64_t> x = randomInts(random, xs), w = randomInts(random, ws);
          std::vector<int64_t> g = randomInts(random, ys);
          std::vector<int64_t> y(ys, 0), dx(xs, 0), dw(ws, 0);
          forEachTerm(k, [&](int64_t xi, int64_t wi, int64_t yi) {
            y[yi] += x[xi] * w[wi];
            dx[xi] += g[yi] * w[wi];
            dw[wi] += g[yi] * x[xi];
          });
          checkGemm(k, ConvKind::Forward, x, w, y, "conv2d, " + what);
          checkGemm(k, ConvKind::InputGrad, g, w, dx, "conv2d_input_grad, " + what);
          checkGemm(k, ConvKind::WeightGrad, g, x, dw, "conv2d_weight_grad, " + what);
        }
  EXPECT_GT(configurations, 40);
}

} // namespace
} // namespace kiln::graph
