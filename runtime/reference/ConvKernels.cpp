//===- ConvKernels.cpp - 2-D convolution loops of the reference device ----===//
//
// conv2d and its two gradients as the naive loops of their definitions (seven deep: one
// element of the result per iteration of the outer four, its terms in the inner three), with
// the bounds and stride checks written out where they apply. Deliberately independent of
// ConvGeometry.h, which the compiled kernels index through: this device is the oracle they
// are checked against. Each result element sums its terms in Accumulator<T> in the loop order
// shown and is rounded to T once (Kernels.h).
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

namespace kiln::reference {

template <typename T> void conv2d(const T *x, const T *w, T *y, const ConvLayout &l) {
  int64_t inPerGroup = l.c / l.groups, outPerGroup = l.o / l.groups;
  for (int64_t n = 0; n < l.n; ++n)
    for (int64_t o = 0; o < l.o; ++o) {
      int64_t firstChannel = (o / outPerGroup) * inPerGroup;
      for (int64_t oy = 0; oy < l.oh; ++oy)
        for (int64_t ox = 0; ox < l.ow; ++ox) {
          Accumulator<T> sum = 0;
          for (int64_t c = 0; c < inPerGroup; ++c)
            for (int64_t ky = 0; ky < l.kh; ++ky) {
              int64_t iy = oy * l.strideH - l.padH + ky * l.dilationH;
              if (iy < 0 || iy >= l.h)
                continue;
              for (int64_t kx = 0; kx < l.kw; ++kx) {
                int64_t ix = ox * l.strideW - l.padW + kx * l.dilationW;
                if (ix < 0 || ix >= l.w)
                  continue;
                sum += static_cast<Accumulator<T>>(
                           x[((n * l.c + firstChannel + c) * l.h + iy) * l.w + ix]) *
                       w[((o * inPerGroup + c) * l.kh + ky) * l.kw + kx];
              }
            }
          y[((n * l.o + o) * l.oh + oy) * l.ow + ox] = static_cast<T>(sum);
        }
    }
}

template <typename T> void conv2dInputGrad(const T *g, const T *w, T *dx, const ConvLayout &l) {
  int64_t inPerGroup = l.c / l.groups, outPerGroup = l.o / l.groups;
  for (int64_t n = 0; n < l.n; ++n)
    for (int64_t c = 0; c < l.c; ++c) {
      int64_t group = c / inPerGroup, channel = c % inPerGroup;
      for (int64_t iy = 0; iy < l.h; ++iy)
        for (int64_t ix = 0; ix < l.w; ++ix) {
          Accumulator<T> sum = 0;
          for (int64_t oc = group * outPerGroup; oc < (group + 1) * outPerGroup; ++oc)
            for (int64_t ky = 0; ky < l.kh; ++ky) {
              // Output row oy reads iy through tap ky when oy * stride = iy + pad - ky * dilation.
              int64_t ty = iy + l.padH - ky * l.dilationH;
              if (ty < 0 || ty % l.strideH != 0 || ty / l.strideH >= l.oh)
                continue;
              int64_t oy = ty / l.strideH;
              for (int64_t kx = 0; kx < l.kw; ++kx) {
                int64_t tx = ix + l.padW - kx * l.dilationW;
                if (tx < 0 || tx % l.strideW != 0 || tx / l.strideW >= l.ow)
                  continue;
                int64_t ox = tx / l.strideW;
                sum += static_cast<Accumulator<T>>(g[((n * l.o + oc) * l.oh + oy) * l.ow + ox]) *
                       w[((oc * inPerGroup + channel) * l.kh + ky) * l.kw + kx];
              }
            }
          dx[((n * l.c + c) * l.h + iy) * l.w + ix] = static_cast<T>(sum);
        }
    }
}

template <typename T> void conv2dWeightGrad(const T *g, const T *x, T *dw, const ConvLayout &l) {
  int64_t inPerGroup = l.c / l.groups, outPerGroup = l.o / l.groups;
  for (int64_t o = 0; o < l.o; ++o) {
    int64_t firstChannel = (o / outPerGroup) * inPerGroup;
    for (int64_t c = 0; c < inPerGroup; ++c)
      for (int64_t ky = 0; ky < l.kh; ++ky)
        for (int64_t kx = 0; kx < l.kw; ++kx) {
          Accumulator<T> sum = 0;
          for (int64_t n = 0; n < l.n; ++n)
            for (int64_t oy = 0; oy < l.oh; ++oy) {
              int64_t iy = oy * l.strideH - l.padH + ky * l.dilationH;
              if (iy < 0 || iy >= l.h)
                continue;
              for (int64_t ox = 0; ox < l.ow; ++ox) {
                int64_t ix = ox * l.strideW - l.padW + kx * l.dilationW;
                if (ix < 0 || ix >= l.w)
                  continue;
                sum += static_cast<Accumulator<T>>(g[((n * l.o + o) * l.oh + oy) * l.ow + ox]) *
                       x[((n * l.c + firstChannel + c) * l.h + iy) * l.w + ix];
              }
            }
          dw[((o * inPerGroup + c) * l.kh + ky) * l.kw + kx] = static_cast<T>(sum);
        }
  }
}

template void conv2d<float>(const float *, const float *, float *, const ConvLayout &);
template void conv2d<double>(const double *, const double *, double *, const ConvLayout &);
template void conv2dInputGrad<float>(const float *, const float *, float *, const ConvLayout &);
template void conv2dInputGrad<double>(const double *, const double *, double *, const ConvLayout &);
template void conv2dWeightGrad<float>(const float *, const float *, float *, const ConvLayout &);
template void conv2dWeightGrad<double>(const double *, const double *, double *,
                                       const ConvLayout &);

} // namespace kiln::reference
