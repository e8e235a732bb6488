//===- ConvGeometry.h - The convolution ops as grouped GEMMs ----*- C++ -*-===//
//
// `graph.conv2d`, `graph.conv2d_input_grad` and `graph.conv2d_weight_grad` are
// each, per group, one matrix product C[row, col] = sum_depth A[row, depth] *
// B[depth, col] whose operands are read through an index computation (implicit
// GEMM: the im2col matrix is never materialized). This header is the one
// description of those index computations; the GPU and CPU matmul emitters build
// them with MLIR values, the geometry's own tests with integers. The reference
// device does not use it (its naive loops are the independent check).
//
// With x [N, C, H, W], w [O, C/G, KH, KW], y [N, O, OH, OW], Cg = C/G, Og = O/G,
// ih = oh*sh - ph + kh*dh and iw = ow*sw - pw + kw*dw:
//
//   op            rows         cols          depth         A (lhs, in bounds)   B (rhs)
//   conv2d        Og           N*OH*OW       Cg*KH*KW      w (operand 1)        x at (ih, iw)
//   input_grad    Cg           N*H*W         Og*KH*KW      w (operand 1)        g at (oh, ow)
//   weight_grad   Og           Cg*KH*KW      N*OH*OW       g (operand 0)        x at (ih, iw)
//
// B is the side that may fall outside its tensor: padding (ih, iw out of range)
// and, for input_grad, the stride: oh = (ih + ph - kh*dh) / sh only where sh
// divides it. A is always a plain strided read. The result element of (row, col)
// is y[n, g*Og+row, oh, ow], dx[n, g*Cg+row, ih, iw] or dw[g*Og+row, c, kh, kw].
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_GRAPH_CONVGEOMETRY_H
#define KILN_DIALECT_GRAPH_CONVGEOMETRY_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/Support/LogicalResult.h"

#include <array>
#include <cstdint>
#include <optional>

namespace mlir {
class Operation;
}

namespace kiln::graph {

/// Stride, symmetric padding and dilation per spatial dimension (height, width), and groups.
struct ConvParams {
  std::array<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
};

enum class ConvKind { Forward, InputGrad, WeightGrad };

/// An index into one GEMM operand: the row-major offset into its tensor and whether the
/// element exists (false: it is a zero of the padding or of the stride).
template <typename Value, typename Bool> struct ConvAccess {
  Value offset;
  Bool valid;
};

/// One convolution op's shapes and how it is a grouped GEMM (see the file comment).
///
/// The index functions are templates over `Math`, which provides (with V a non-negative
/// index value unless stated, B a predicate): V constant(int64_t); V add(V, V); V sub(V, V)
/// (may be negative); V mul(V, int64_t); V div(V, int64_t), V rem(V, int64_t) (of a
/// non-negative V; anything when V is negative, which `valid` then rules out);
/// B inRange(V, int64_t limit) (0 <= V < limit, V possibly negative); B isZero(V);
/// B all(B, B); B yes(). Integers and MLIR index values both fit.
struct ConvGeometry {
  ConvKind kind = ConvKind::Forward;
  int64_t n = 0, c = 0, h = 0, w = 0; // input x
  int64_t o = 0, kh = 0, kw = 0;      // weight [o, c / groups, kh, kw]
  int64_t oh = 0, ow = 0;             // output spatial sizes
  ConvParams params;

  int64_t groups() const { return params.groups; }
  int64_t inPerGroup() const { return c / params.groups; }
  int64_t outPerGroup() const { return o / params.groups; }
  int64_t rows() const { return kind == ConvKind::InputGrad ? inPerGroup() : outPerGroup(); }
  int64_t cols() const {
    switch (kind) {
    case ConvKind::Forward:
      return n * oh * ow;
    case ConvKind::InputGrad:
      return n * h * w;
    case ConvKind::WeightGrad:
      return inPerGroup() * kh * kw;
    }
    return 0;
  }
  int64_t depth() const {
    switch (kind) {
    case ConvKind::Forward:
      return inPerGroup() * kh * kw;
    case ConvKind::InputGrad:
      return outPerGroup() * kh * kw;
    case ConvKind::WeightGrad:
      return n * oh * ow;
    }
    return 0;
  }
  /// The op operands A and B are (A is always in bounds).
  unsigned lhsOperand() const { return kind == ConvKind::WeightGrad ? 0 : 1; }
  unsigned rhsOperand() const { return kind == ConvKind::WeightGrad ? 1 : 0; }
  /// The result's shape.
  std::array<int64_t, 4> resultShape() const {
    switch (kind) {
    case ConvKind::Forward:
      return {n, o, oh, ow};
    case ConvKind::InputGrad:
      return {n, c, h, w};
    case ConvKind::WeightGrad:
      return {o, inPerGroup(), kh, kw};
    }
    return {};
  }

  /// A[group, row, d].
  template <typename Math, typename V = typename Math::Value, typename B = typename Math::Bool>
  ConvAccess<V, B> lhsAt(Math &m, V group, V row, V d) const {
    if (kind == ConvKind::WeightGrad) {
      // g[n, group*Og + row, oh, ow] with d = (n, oh, ow).
      V image = m.div(d, oh * ow), pixel = m.rem(d, oh * ow);
      V channel = m.add(m.mul(group, outPerGroup()), row);
      return {m.add(m.mul(m.add(m.mul(image, o), channel), oh * ow), pixel), m.yes()};
    }
    // w[group*Og + o', c', kh, kw]: Forward row = o', d = (c', kh, kw) (contiguous in w);
    // InputGrad row = c', d = (o', kh, kw).
    int64_t window = kh * kw;
    if (kind == ConvKind::Forward) {
      V filter = m.add(m.mul(group, outPerGroup()), row);
      return {m.add(m.mul(filter, inPerGroup() * window), d), m.yes()};
    }
    V filter = m.add(m.mul(group, outPerGroup()), m.div(d, window));
    V tap = m.rem(d, window);
    return {m.add(m.mul(m.add(m.mul(filter, inPerGroup()), row), window), tap), m.yes()};
  }

  /// B[group, d, col], with its validity.
  template <typename Math, typename V = typename Math::Value, typename B = typename Math::Bool>
  ConvAccess<V, B> rhsAt(Math &m, V group, V d, V col) const {
    const auto [sh, sw] = params.stride;
    const auto [ph, pw] = params.padding;
    const auto [dh, dw] = params.dilation;
    if (kind == ConvKind::InputGrad) {
      // g[n, group*Og + o', oh, ow] with d = (o', kh, kw), col = (n, ih, iw), where
      // oh = (ih + ph - kh*dh) / sh when sh divides it.
      int64_t window = kh * kw;
      V filter = m.add(m.mul(group, outPerGroup()), m.div(d, window));
      V tap = m.rem(d, window);
      V ky = m.div(tap, kw), kx = m.rem(tap, kw);
      V image = m.div(col, h * w), pixel = m.rem(col, h * w);
      V iy = m.div(pixel, w), ix = m.rem(pixel, w);
      V ty = m.sub(m.add(iy, m.constant(ph)), m.mul(ky, dh));
      V tx = m.sub(m.add(ix, m.constant(pw)), m.mul(kx, dw));
      V y = m.div(ty, sh), x = m.div(tx, sw);
      B valid = m.all(m.all(m.inRange(ty, oh * sh), m.inRange(tx, ow * sw)),
                      m.all(m.isZero(m.rem(ty, sh)), m.isZero(m.rem(tx, sw))));
      V offset = m.add(m.mul(m.add(m.mul(m.add(m.mul(image, o), filter), oh), y), ow), x);
      return {offset, valid};
    }
    // x[n, group*Cg + c', ih, iw]: Forward d = (c', kh, kw), col = (n, oh, ow);
    // WeightGrad d = (n, oh, ow), col = (c', kh, kw).
    V tapsIndex = kind == ConvKind::Forward ? d : col;
    V pixelsIndex = kind == ConvKind::Forward ? col : d;
    int64_t window = kh * kw;
    V channel = m.add(m.mul(group, inPerGroup()), m.div(tapsIndex, window));
    V tap = m.rem(tapsIndex, window);
    V ky = m.div(tap, kw), kx = m.rem(tap, kw);
    V image = m.div(pixelsIndex, oh * ow), pixel = m.rem(pixelsIndex, oh * ow);
    V y = m.div(pixel, ow), x = m.rem(pixel, ow);
    V iy = m.sub(m.add(m.mul(y, sh), m.mul(ky, dh)), m.constant(ph));
    V ix = m.sub(m.add(m.mul(x, sw), m.mul(kx, dw)), m.constant(pw));
    B valid = m.all(m.inRange(iy, h), m.inRange(ix, w));
    V offset = m.add(m.mul(m.add(m.mul(m.add(m.mul(image, c), channel), h), iy), w), ix);
    return {offset, valid};
  }

  /// The result's multi-index at C[group, row, col].
  template <typename Math, typename V = typename Math::Value>
  std::array<V, 4> resultAt(Math &m, V group, V row, V col) const {
    switch (kind) {
    case ConvKind::Forward: {
      V image = m.div(col, oh * ow), pixel = m.rem(col, oh * ow);
      return {image, m.add(m.mul(group, outPerGroup()), row), m.div(pixel, ow), m.rem(pixel, ow)};
    }
    case ConvKind::InputGrad: {
      V image = m.div(col, h * w), pixel = m.rem(col, h * w);
      return {image, m.add(m.mul(group, inPerGroup()), row), m.div(pixel, w), m.rem(pixel, w)};
    }
    case ConvKind::WeightGrad:
      break;
    }
    int64_t window = kh * kw;
    V tap = m.rem(col, window);
    return {m.add(m.mul(group, outPerGroup()), row), m.div(col, window), m.div(tap, kw),
            m.rem(tap, kw)};
  }
};

/// The geometry of a conv op (conv2d, conv2d_input_grad, conv2d_weight_grad); nullopt for
/// any other op. Consumers of a contraction's iteration space ask this where the space's
/// operand maps are null (they are for these ops: the reads are not affine).
std::optional<ConvGeometry> convGeometryOf(mlir::Operation *op);

/// `graph.conv2d`: x [N, C, H, W], w [O, C/groups, KH, KW] -> [N, O, OH, OW] with
/// OH = floor((H + 2ph - dh(KH-1) - 1) / sh) + 1 (and likewise OW). Errors name the
/// offending dimension or attribute.
mlir::FailureOr<mlir::RankedTensorType> inferConv2dType(std::optional<mlir::Location> loc,
                                                        mlir::Type input, mlir::Type weight,
                                                        const ConvParams &params);

/// `graph.conv2d_input_grad`: g [N, O, OH, OW], w [O, C/groups, KH, KW] -> `result`
/// [N, C, H, W], where conv2d of [N, C, H, W] by w gives g's shape.
mlir::LogicalResult verifyConv2dInputGrad(std::optional<mlir::Location> loc, mlir::Type grad,
                                          mlir::Type weight, mlir::Type result,
                                          const ConvParams &params);

/// `graph.conv2d_weight_grad`: g [N, O, OH, OW], x [N, C, H, W] -> `result`
/// [O, C/groups, KH, KW], where conv2d of x by such a weight gives g's shape.
mlir::LogicalResult verifyConv2dWeightGrad(std::optional<mlir::Location> loc, mlir::Type grad,
                                           mlir::Type input, mlir::Type result,
                                           const ConvParams &params);

} // namespace kiln::graph

#endif // KILN_DIALECT_GRAPH_CONVGEOMETRY_H
