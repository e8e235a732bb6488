//===- Initializer.h - Initial values of variables --------------*- C++ -*-===//
//
// Fills a tensor the way a `#graph.init<...>` attribute describes, drawing
// from the Philox sequence of (seed, stream) with element index = row-major
// position (see Philox.h). Every device calls this (or reproduces it), so a
// model starts from the same parameters everywhere. No MLIR dependency.
//
// The float values are the definition; they are computed in double and
// rounded once:
//   constant(a):       a
//   uniform(a, b):     fma(b - a, u, a),          u = uniform01(seed, stream, i)
//   normal(a, b):      fma(b, z, a),              z = standardNormal(seed, stream, i)
// The double variant returns those doubles without the final rounding, so
// rounding its output to float gives exactly the float variant's output.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_INITIALIZER_H
#define KILN_RUNTIME_INITIALIZER_H

#include <cstdint>
#include <span>

namespace kiln {

/// The distributions of `#graph.init`: `a` and `b` are (value, unused),
/// (low, high) or (mean, standard deviation).
enum class InitKind { kConstant, kUniform, kNormal };

/// Fills `values` (owned by the caller) with element i = the initializer's
/// value for index i. Parameters are not validated (the graph verifier checks
/// low < high and stddev >= 0); any inputs give the formulas above.
void fillInitializer(InitKind kind, double a, double b, uint64_t seed, uint64_t stream,
                     std::span<float> values);

/// As above, in double precision before rounding to float (see the file comment).
void fillInitializer(InitKind kind, double a, double b, uint64_t seed, uint64_t stream,
                     std::span<double> values);

} // namespace kiln

#endif // KILN_RUNTIME_INITIALIZER_H
