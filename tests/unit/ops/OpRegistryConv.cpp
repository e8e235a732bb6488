//===- OpRegistryConv.cpp - Samples of the convolution ops ----------------===//
//
// conv2d, conv2d_input_grad and conv2d_weight_grad on the same configurations:
// stride 1, 2 and mixed, padding, dilation 2, groups 2 and depthwise, odd and
// non-square spatial sizes and kernels, batch 1, a stride larger than the
// kernel (input pixels no output reads, whose input gradient is zero) and a
// 1x1 kernel. The references here scatter each product term into its result
// element, the definition read from the input side, where the reference device
// gathers per output element: two independent formulations.
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"

#include <sstream>

namespace kiln::ops_test {
namespace {

struct Config {
  std::string name;
  Shape x, w;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;

  int64_t outH() const { return (x[2] + 2 * ph - dh * (w[2] - 1) - 1) / sh + 1; }
  int64_t outW() const { return (x[3] + 2 * pw - dw * (w[3] - 1) - 1) / sw + 1; }
  Shape y() const { return {x[0], w[0], outH(), outW()}; }
  std::string attributes() const {
    std::ostringstream out;
    out << " stride = [" << sh << ", " << sw << "] padding = [" << ph << ", " << pw
        << "] dilation = [" << dh << ", " << dw << "] groups = " << groups;
    return out.str();
  }
};

enum class Which { kForward, kInputGrad, kWeightGrad };

/// Visits every product term of conv2d(x, w): term(xIndex, wIndex, yIndex), row-major
/// positions in x, w and y, for each input pixel the kernel tap lands on.
template <typename F> void forEachTerm(const Config &k, F term) {
  Shape y = k.y();
  int64_t inPerGroup = k.x[1] / k.groups, outPerGroup = k.w[0] / k.groups;
  for (int64_t n = 0; n < k.x[0]; ++n)
    for (int64_t c = 0; c < k.x[1]; ++c)
      for (int64_t iy = 0; iy < k.x[2]; ++iy)
        for (int64_t ix = 0; ix < k.x[3]; ++ix) {
          int64_t group = c / inPerGroup;
          for (int64_t o = group * outPerGroup; o < (group + 1) * outPerGroup; ++o)
            for (int64_t ky = 0; ky < k.w[2]; ++ky)
              for (int64_t kx = 0; kx < k.w[3]; ++kx) {
                // Which output position (oy, ox) reads (iy, ix) through tap (ky, kx)?
                int64_t ty = iy + k.ph - ky * k.dh, tx = ix + k.pw - kx * k.dw;
                if (ty < 0 || tx < 0 || ty % k.sh || tx % k.sw)
                  continue;
                int64_t oy = ty / k.sh, ox = tx / k.sw;
                if (oy >= y[2] || ox >= y[3])
                  continue;
                term(ravel({n, c, iy, ix}, k.x), ravel({o, c % inPerGroup, ky, kx}, k.w),
                     ravel({n, o, oy, ox}, y));
              }
        }
}

std::vector<double> convReference(const Config &k, Which which, const std::vector<Tensor> &v) {
  const std::vector<double> &a = v[0].values, &b = v[1].values;
  switch (which) {
  case Which::kForward: {
    std::vector<double> y(numElements(k.y()), 0.0);
    forEachTerm(k, [&](int64_t xi, int64_t wi, int64_t yi) { y[yi] += a[xi] * b[wi]; });
    return y;
  }
  case Which::kInputGrad: {
    std::vector<double> dx(numElements(k.x), 0.0);
    forEachTerm(k, [&](int64_t xi, int64_t wi, int64_t yi) { dx[xi] += a[yi] * b[wi]; });
    return dx;
  }
  case Which::kWeightGrad:
    break;
  }
  std::vector<double> dw(numElements(k.w), 0.0);
  forEachTerm(k, [&](int64_t xi, int64_t wi, int64_t yi) { dw[wi] += a[yi] * b[xi]; });
  return dw;
}

OpSample convSample(const Config &k, Which which) {
  Shape first, second, result;
  std::string op;
  switch (which) {
  case Which::kForward:
    op = "conv2d", first = k.x, second = k.w, result = k.y();
    break;
  case Which::kInputGrad:
    op = "conv2d_input_grad", first = k.y(), second = k.w, result = k.x;
    break;
  case Which::kWeightGrad:
    op = "conv2d_weight_grad", first = k.y(), second = k.x, result = k.w;
    break;
  }
  return {op,
          k.name,
          {{first}, {second}},
          result,
          ElementType::kF32,
          "%result = graph." + op + " %arg0, %arg1" + k.attributes() + " : " + tensorType(first) +
              ", " + tensorType(second) + " -> " + tensorType(result),
          [k, which](const std::vector<Tensor> &v) { return convReference(k, which, v); },
          /*differentiable=*/true,
          /*gradientReference=*/nullptr,
          // Bilinear: the central difference is exact at any step (OpRegistry.h).
          /*vjpEpsilon=*/0.05};
}

std::vector<Config> configs() {
  std::vector<Config> all;
  all.push_back({"plain", {2, 3, 5, 5}, {4, 3, 3, 3}});
  all.push_back({"stride2_padding1", {1, 2, 7, 5}, {3, 2, 3, 3}, 2, 2, 1, 1});
  all.push_back({"mixed_stride_nonsquare_kernel", {2, 2, 7, 5}, {2, 2, 3, 2}, 2, 1, 1, 0});
  all.push_back({"dilation2", {1, 2, 7, 6}, {2, 2, 3, 3}, 1, 1, 2, 1, 2, 2});
  all.push_back({"groups2", {2, 4, 5, 5}, {6, 2, 3, 3}, 1, 1, 1, 1, 1, 1, 2});
  all.push_back({"depthwise_stride2", {1, 3, 6, 5}, {3, 1, 3, 3}, 2, 2, 1, 1, 1, 1, 3});
  all.push_back({"stride_past_kernel", {1, 2, 7, 7}, {2, 2, 2, 2}, 3, 3});
  all.push_back({"one_by_one", {2, 3, 4, 3}, {5, 3, 1, 1}});
  return all;
}

/// conv2d with the epilogue a CNN layer fuses into its kernel: + bias[o], * scale[o] +
/// shift[o] (a batch norm's apply), ReLU. Forward only (the gradients of the parts are the
/// samples above and the elementwise ops'): it checks that every device computes the
/// epilogue at the conv result's own index.
OpSample epilogueSample(const Config &k) {
  Shape y = k.y(), channel = {k.w[0]};
  std::string type = tensorType(y), vector = tensorType(channel);
  auto perChannel = [&](const std::string &name, int arg) {
    return "%" + name + " = graph.broadcast %arg" + std::to_string(arg) + " [1] : " + vector +
           " to " + type + "\n    ";
  };
  std::string assembly = "%y = graph.conv2d %arg0, %arg1" + k.attributes() + " : " +
                         tensorType(k.x) + ", " + tensorType(k.w) + " -> " + type + "\n    " +
                         perChannel("b", 2) + perChannel("s", 3) + perChannel("h", 4) +
                         "%biased = graph.add %y, %b : " + type +
                         "\n    %scaled = graph.mul %biased, %s : " + type +
                         "\n    %shifted = graph.add %scaled, %h : " + type +
                         "\n    %result = graph.relu %shifted : " + type;
  OpSample sample{"conv2d",
                  k.name + "_bias_scale_shift_relu",
                  {{k.x}, {k.w}, {channel}, {channel}, {channel}},
                  y,
                  ElementType::kF32,
                  assembly,
                  [k, y](const std::vector<Tensor> &v) {
                    std::vector<double> out = convReference(k, Which::kForward, v);
                    for (size_t i = 0; i < out.size(); ++i) {
                      int64_t o = unravel(static_cast<int64_t>(i), y)[1];
                      double value = (out[i] + v[2].values[o]) * v[3].values[o] + v[4].values[o];
                      out[i] = value > 0 ? value : 0;
                    }
                    return out;
                  }};
  sample.differentiable = false;
  return sample;
}

} // namespace

void appendConvSamples(std::vector<OpSample> &samples) {
  for (Which which : {Which::kForward, Which::kInputGrad, Which::kWeightGrad})
    for (const Config &k : configs())
      samples.push_back(convSample(k, which));
  for (const Config &k : configs())
    if (k.name == "stride2_padding1" || k.name == "groups2" || k.name == "depthwise_stride2")
      samples.push_back(epilogueSample(k));
}

} // namespace kiln::ops_test
