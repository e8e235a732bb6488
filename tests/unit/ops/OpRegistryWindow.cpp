//===- OpRegistryWindow.cpp - Samples of pad, slice, concat, windows, pooling ===//
//
// The window views on their own (pad with edges, interior gaps and a fill
// value; strided and contiguous slices; concat of one, two and three parts;
// windows with stride 1 and 2, dilation, odd and non-square sizes, one
// windowed dimension, the per-tap form; unwindow with gaps between windows;
// iota), and pooling as the builder composes it (kiln/Pooling.h): max pooling
// with -inf padding and first-maximum gradients, on random values and on
// values with ties in every window, and average pooling with zero padding in
// both count_include_pad modes.
//
// The references compute each result element from its multi-index as the ops'
// documentation states it; the pooling ones read the unpadded input directly
// (skipping positions outside it), not through the views. Max pooling over
// ties is not differentiable, so those samples carry the gradient PyTorch
// defines instead of finite differences: each window's weight goes to its
// first maximum in row-major window order.
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace kiln::ops_test {
namespace {

std::string list(const std::vector<int64_t> &values) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < values.size(); ++i)
    out << (i ? ", " : "") << values[i];
  out << "]";
  return out.str();
}

std::string number(double value) {
  if (std::isinf(value))
    return value < 0 ? "0xFF800000" : "0x7F800000";
  std::ostringstream out;
  out.precision(17);
  out << std::scientific << value;
  return out.str();
}

/// Calls f(index) for every multi-index of `shape` in row-major order.
template <typename F> void forEachIndex(const Shape &shape, F f) {
  for (int64_t flat = 0; flat < numElements(shape); ++flat)
    f(unravel(flat, shape));
}

//===----------------------------------------------------------------------===//
// The views
//===----------------------------------------------------------------------===//

OpSample pad(std::string name, Shape x, std::vector<int64_t> low, std::vector<int64_t> high,
             std::vector<int64_t> interior, double value) {
  Shape y;
  for (size_t d = 0; d < x.size(); ++d)
    y.push_back(low[d] + high[d] + x[d] + (x[d] - 1) * interior[d]);
  return {"pad",
          std::move(name),
          {{x}},
          y,
          ElementType::kF32,
          "%result = graph.pad %arg0 low = " + list(low) + " high = " + list(high) +
              " interior = " + list(interior) + " value = " + number(value) + " : " +
              tensorType(x) + " -> " + tensorType(y),
          [=](const std::vector<Tensor> &v) {
            std::vector<double> out;
            forEachIndex(y, [&](const std::vector<int64_t> &r) {
              std::vector<int64_t> source;
              for (size_t d = 0; d < x.size(); ++d) {
                int64_t j = r[d] - low[d];
                if (j < 0 || j % (interior[d] + 1) != 0 || j / (interior[d] + 1) >= x[d])
                  break;
                source.push_back(j / (interior[d] + 1));
              }
              out.push_back(source.size() == x.size() ? v[0].values[ravel(source, x)] : value);
            });
            return out;
          }};
}

OpSample slice(std::string name, Shape x, std::vector<int64_t> start, std::vector<int64_t> stride,
               Shape y) {
  return {"slice",
          std::move(name),
          {{x}},
          y,
          ElementType::kF32,
          "%result = graph.slice %arg0 start = " + list(start) + " stride = " + list(stride) +
              " : " + tensorType(x) + " -> " + tensorType(y),
          [=](const std::vector<Tensor> &v) {
            std::vector<double> out;
            forEachIndex(y, [&](const std::vector<int64_t> &r) {
              std::vector<int64_t> source;
              for (size_t d = 0; d < x.size(); ++d)
                source.push_back(start[d] + r[d] * stride[d]);
              out.push_back(v[0].values[ravel(source, x)]);
            });
            return out;
          }};
}

OpSample concat(std::string name, std::vector<Shape> parts, int64_t axis) {
  Shape y = parts[0];
  y[axis] = 0;
  std::vector<OperandSpec> operands;
  std::string names, types;
  for (size_t p = 0; p < parts.size(); ++p) {
    y[axis] += parts[p][axis];
    operands.push_back({parts[p]});
    names += (p ? ", %arg" : "%arg") + std::to_string(p);
    types += (p ? ", " : "") + tensorType(parts[p]);
  }
  return {"concat",
          std::move(name),
          operands,
          y,
          ElementType::kF32,
          "%result = graph.concat " + names + " axis = " + std::to_string(axis) + " : " + types +
              " -> " + tensorType(y),
          [=](const std::vector<Tensor> &v) {
            std::vector<double> out;
            forEachIndex(y, [&](std::vector<int64_t> r) {
              size_t p = 0;
              while (r[axis] >= parts[p][axis])
                r[axis] -= parts[p++][axis];
              out.push_back(v[p].values[ravel(r, parts[p])]);
            });
            return out;
          }};
}

struct Window {
  std::vector<int64_t> window, stride, dilation;
  std::string attributes() const {
    return " window = " + list(window) + " stride = " + list(stride) +
           " dilation = " + list(dilation);
  }
  int64_t count(size_t i, int64_t extent) const {
    return (extent - dilation[i] * (window[i] - 1) - 1) / stride[i] + 1;
  }
};

/// The windowed shape [..., O, K] of spatial shape [..., S(, K)].
Shape windowedShape(const Shape &spatial, const Window &w, bool perTap) {
  size_t k = w.window.size(), batch = spatial.size() - (perTap ? 2 * k : k);
  Shape out(spatial.begin(), spatial.begin() + batch);
  for (size_t i = 0; i < k; ++i)
    out.push_back(w.count(i, spatial[batch + i]));
  out.insert(out.end(), w.window.begin(), w.window.end());
  return out;
}

OpSample window(std::string name, Shape x, Window w, bool perTap = false) {
  Shape y = windowedShape(x, w, perTap);
  return {"window",
          std::move(name),
          {{x}},
          y,
          ElementType::kF32,
          "%result = graph.window %arg0" + w.attributes() + " : " + tensorType(x) + " -> " +
              tensorType(y),
          [=](const std::vector<Tensor> &v) {
            size_t k = w.window.size(), batch = y.size() - 2 * k;
            std::vector<double> out;
            forEachIndex(y, [&](const std::vector<int64_t> &r) {
              std::vector<int64_t> source(r.begin(), r.begin() + batch);
              for (size_t i = 0; i < k; ++i)
                source.push_back(r[batch + i] * w.stride[i] + r[batch + k + i] * w.dilation[i]);
              if (perTap)
                source.insert(source.end(), r.begin() + batch + k, r.end());
              out.push_back(v[0].values[ravel(source, x)]);
            });
            return out;
          }};
}

/// unwindow of [..., O, K] to [..., S, K] for spatial extents `spatial`.
OpSample unwindow(std::string name, Shape spatialResult, Window w) {
  Shape x = windowedShape(spatialResult, w, true);
  return {"unwindow",
          std::move(name),
          {{x}},
          spatialResult,
          ElementType::kF32,
          "%result = graph.unwindow %arg0" + w.attributes() + " : " + tensorType(x) + " -> " +
              tensorType(spatialResult),
          [=](const std::vector<Tensor> &v) {
            size_t k = w.window.size(), batch = x.size() - 2 * k;
            std::vector<double> out;
            forEachIndex(spatialResult, [&](const std::vector<int64_t> &r) {
              std::vector<int64_t> source(r.begin(), r.end());
              bool inside = true;
              for (size_t i = 0; i < k; ++i) {
                int64_t t = r[batch + i] - r[batch + k + i] * w.dilation[i];
                inside = inside && t >= 0 && t % w.stride[i] == 0 && t / w.stride[i] < x[batch + i];
                source[batch + i] = inside ? t / w.stride[i] : 0;
              }
              out.push_back(inside ? v[0].values[ravel(source, x)] : 0.0);
            });
            return out;
          }};
}

OpSample iota(std::string name, Shape y, std::vector<int64_t> dims) {
  OpSample sample{"iota",
                  std::move(name),
                  {},
                  y,
                  ElementType::kF32,
                  "%result = graph.iota dims = " + list(dims) + " : " + tensorType(y),
                  [=](const std::vector<Tensor> &) {
                    std::vector<double> out;
                    forEachIndex(y, [&](const std::vector<int64_t> &r) {
                      double position = 0;
                      for (int64_t d : dims)
                        position = position * y[d] + r[d];
                      out.push_back(position);
                    });
                    return out;
                  }};
  sample.differentiable = false;
  return sample;
}

//===----------------------------------------------------------------------===//
// Pooling, as kiln/Pooling.h composes it
//===----------------------------------------------------------------------===//

enum class Pool { kMax, kAvgIncludePad, kAvgExcludePad };

struct PoolConfig {
  Shape x; // [N, C, H, W]
  int64_t kh, kw, sh, sw, ph, pw;
  int64_t outH() const { return (x[2] + 2 * ph - kh) / sh + 1; }
  int64_t outW() const { return (x[3] + 2 * pw - kw) / sw + 1; }
  Shape y() const { return {x[0], x[1], outH(), outW()}; }
  /// Calls tap(input position or -1 when in the padding) for the window of output `o` in
  /// row-major window order.
  template <typename F> void forEachTap(const std::vector<int64_t> &o, F tap) const {
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j) {
        int64_t iy = o[2] * sh - ph + i, ix = o[3] * sw - pw + j;
        bool inside = iy >= 0 && iy < x[2] && ix >= 0 && ix < x[3];
        tap(inside ? ravel({o[0], o[1], iy, ix}, x) : int64_t{-1});
      }
  }
};

std::vector<double> poolReference(const PoolConfig &k, Pool pool, const Tensor &x) {
  std::vector<double> out;
  forEachIndex(k.y(), [&](const std::vector<int64_t> &o) {
    double max = -std::numeric_limits<double>::infinity(), sum = 0;
    int64_t inside = 0;
    k.forEachTap(o, [&](int64_t at) {
      if (at < 0)
        return;
      max = std::max(max, x.values[at]);
      sum += x.values[at];
      ++inside;
    });
    out.push_back(pool == Pool::kMax             ? max
                  : pool == Pool::kAvgIncludePad ? sum / static_cast<double>(k.kh * k.kw)
                                                 : sum / static_cast<double>(inside));
  });
  return out;
}

/// d sum(maxpool(x) * weights) / dx: each window's weight to its first maximum.
std::vector<double> maxPoolGradient(const PoolConfig &k, const Tensor &x,
                                    const std::vector<double> &weights) {
  std::vector<double> dx(x.values.size(), 0.0);
  int64_t flat = 0;
  forEachIndex(k.y(), [&](const std::vector<int64_t> &o) {
    int64_t first = -1;
    k.forEachTap(o, [&](int64_t at) {
      if (at >= 0 && (first < 0 || x.values[at] > x.values[first]))
        first = at;
    });
    dx[first] += weights[flat++];
  });
  return dx;
}

OpSample poolSample(std::string name, PoolConfig k, Pool pool, Draw draw = Draw::kUniform) {
  Shape padded = {k.x[0], k.x[1], k.x[2] + 2 * k.ph, k.x[3] + 2 * k.pw};
  Shape windows = {k.x[0], k.x[1], k.outH(), k.outW(), k.kh, k.kw};
  Shape y = k.y();
  std::vector<int64_t> pads = {0, 0, k.ph, k.pw}, none = {0, 0, 0, 0};
  double fill = pool == Pool::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
  std::string text =
      "%padded = graph.pad %arg0 low = " + list(pads) + " high = " + list(pads) +
      " interior = " + list(none) + " value = " + number(fill) + " : " + tensorType(k.x) + " -> " +
      tensorType(padded) + "\n    %windows = graph.window %padded window = " + list({k.kh, k.kw}) +
      " stride = " + list({k.sh, k.sw}) + " dilation = [1, 1] : " + tensorType(padded) + " -> " +
      tensorType(windows) + "\n    ";
  std::string op;
  switch (pool) {
  case Pool::kMax:
    op = "reduce_max";
    text +=
        "%result = graph.reduce_max %windows [4, 5] first_max_gradient : " + tensorType(windows) +
        " -> " + tensorType(y);
    break;
  case Pool::kAvgIncludePad:
    op = "reduce_mean";
    text += "%result = graph.reduce_mean %windows [4, 5] : " + tensorType(windows) + " -> " +
            tensorType(y);
    break;
  case Pool::kAvgExcludePad: {
    // The number of input elements of each window: a constant [OH, OW] broadcast over N, C.
    op = "reduce_sum";
    std::ostringstream counts;
    counts << "dense<[";
    for (int64_t oy = 0; oy < k.outH(); ++oy) {
      counts << (oy ? ", [" : "[");
      for (int64_t ox = 0; ox < k.outW(); ++ox) {
        int64_t inside = 0;
        k.forEachTap({0, 0, oy, ox}, [&](int64_t at) { inside += at >= 0; });
        counts << (ox ? ", " : "") << inside << ".0";
      }
      counts << "]";
    }
    counts << "]>";
    Shape plane = {k.outH(), k.outW()};
    text += "%sums = graph.reduce_sum %windows [4, 5] : " + tensorType(windows) + " -> " +
            tensorType(y) + "\n    %counts = graph.constant " + counts.str() + " : " +
            tensorType(plane) +
            "\n    %divisor = graph.broadcast %counts [2, 3] : " + tensorType(plane) + " to " +
            tensorType(y) + "\n    %result = graph.div %sums, %divisor : " + tensorType(y);
    break;
  }
  }
  OpSample sample{op,
                  std::move(name),
                  {{k.x, draw}},
                  y,
                  ElementType::kF32,
                  text,
                  [k, pool](const std::vector<Tensor> &v) { return poolReference(k, pool, v[0]); }};
  if (pool == Pool::kMax && draw == Draw::kFewValues)
    sample.gradientReference = [k](const std::vector<Tensor> &v, const std::vector<double> &weights,
                                   size_t) { return maxPoolGradient(k, v[0], weights); };
  return sample;
}

/// reduce_max along the last axis with first_max_gradient, on rows with ties.
OpSample firstMaxRows() {
  Shape x = {4, 5}, y = {4};
  OpSample sample{"reduce_max",
                  "first_max_gradient_rows_with_ties",
                  {{x, Draw::kFewValues}},
                  y,
                  ElementType::kF32,
                  "%result = graph.reduce_max %arg0 [1] first_max_gradient : " + tensorType(x) +
                      " -> " + tensorType(y),
                  [](const std::vector<Tensor> &v) { return reduce(v[0], {1}, Reduction::kMax); }};
  sample.gradientReference = [x](const std::vector<Tensor> &v, const std::vector<double> &weights,
                                 size_t) {
    std::vector<double> dx(v[0].values.size(), 0.0);
    for (int64_t row = 0; row < x[0]; ++row) {
      int64_t first = row * x[1];
      for (int64_t j = 1; j < x[1]; ++j)
        if (v[0].values[row * x[1] + j] > v[0].values[first])
          first = row * x[1] + j;
      dx[first] += weights[row];
    }
    return dx;
  };
  return sample;
}

} // namespace

void appendWindowSamples(std::vector<OpSample> &samples) {
  samples.push_back(pad("edges", {2, 3}, {1, 0}, {0, 2}, {0, 0}, 0.0));
  samples.push_back(pad("interior_and_value", {2, 3}, {0, 1}, {1, 1}, {1, 2}, -1.5));
  samples.push_back(
      pad("spatial_rank4", {1, 2, 3, 3}, {0, 0, 1, 1}, {0, 0, 2, 1}, {0, 0, 0, 0}, 0.5));
  samples.push_back(slice("strided", {4, 9}, {1, 2}, {2, 3}, {2, 3}));
  samples.push_back(slice("contiguous", {3, 5}, {0, 1}, {1, 1}, {3, 3}));
  samples.push_back(slice("rank3_last_axis_stride2", {2, 3, 6}, {0, 1, 1}, {1, 1, 2}, {2, 2, 3}));
  samples.push_back(concat("three_parts_axis1", {{2, 3}, {2, 1}, {2, 4}}, 1));
  samples.push_back(concat("two_parts_axis0", {{1, 3}, {2, 3}}, 0));
  samples.push_back(concat("one_part", {{2, 3}}, 0));
  samples.push_back(window("stride1", {1, 2, 4, 5}, {{2, 2}, {1, 1}, {1, 1}}));
  samples.push_back(window("stride2_odd_sizes", {2, 1, 5, 7}, {{3, 3}, {2, 2}, {1, 1}}));
  samples.push_back(window("dilation2", {1, 1, 6, 6}, {{2, 2}, {1, 1}, {2, 2}}));
  samples.push_back(window("mixed_stride_nonsquare", {1, 2, 5, 6}, {{3, 2}, {1, 2}, {1, 1}}));
  samples.push_back(window("one_dimension", {2, 7}, {{3}, {2}, {1}}));
  samples.push_back(window("per_tap", {1, 2, 5, 5, 2, 2}, {{2, 2}, {2, 2}, {1, 1}}, true));
  samples.push_back(unwindow("stride2", {1, 2, 5, 5, 2, 2}, {{2, 2}, {2, 2}, {1, 1}}));
  samples.push_back(unwindow("stride1_dilation2", {1, 1, 6, 6, 2, 2}, {{2, 2}, {1, 1}, {2, 2}}));
  samples.push_back(unwindow("stride3_gaps", {2, 6, 2}, {{2}, {3}, {1}}));
  samples.push_back(iota("two_dims", {2, 3, 4}, {1, 2}));
  samples.push_back(iota("every_dim", {3, 4}, {0, 1}));
  samples.push_back(iota("first_dim", {3, 2}, {0}));

  samples.push_back(poolSample("max_pool_2x2", {{2, 3, 4, 4}, 2, 2, 2, 2, 0, 0}, Pool::kMax));
  samples.push_back(poolSample("max_pool_3x3_stride2_pad1_odd_batch1",
                               {{1, 2, 7, 5}, 3, 3, 2, 2, 1, 1}, Pool::kMax));
  samples.push_back(poolSample("max_pool_ties_overlapping_pad1", {{2, 2, 5, 5}, 3, 3, 1, 1, 1, 1},
                               Pool::kMax, Draw::kFewValues));
  samples.push_back(poolSample("max_pool_ties_2x2", {{1, 3, 4, 6}, 2, 2, 2, 2, 0, 0}, Pool::kMax,
                               Draw::kFewValues));
  samples.push_back(firstMaxRows());
  samples.push_back(poolSample("avg_pool_3x3_stride2_pad1_count_include_pad",
                               {{2, 2, 5, 5}, 3, 3, 2, 2, 1, 1}, Pool::kAvgIncludePad));
  samples.push_back(
      poolSample("avg_pool_2x2_batch1", {{1, 1, 4, 6}, 2, 2, 2, 2, 0, 0}, Pool::kAvgIncludePad));
  samples.push_back(poolSample("avg_pool_3x3_stride2_pad1_exclude_pad",
                               {{2, 2, 5, 5}, 3, 3, 2, 2, 1, 1}, Pool::kAvgExcludePad));
  samples.push_back(poolSample("avg_pool_3x2_stride1_pad1_exclude_pad",
                               {{1, 2, 4, 5}, 3, 2, 1, 1, 1, 1}, Pool::kAvgExcludePad));
}

} // namespace kiln::ops_test
