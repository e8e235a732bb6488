//===- Initializer.cpp - Initial values of variables ---------------------===//
//
// One Philox block gives four elements, for uniform and normal alike, so a
// fill costs one block per four values.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Initializer.h"

#include "kiln/runtime/Philox.h"

#include <algorithm>
#include <cmath>

namespace kiln {
namespace {

/// Calls `store(i, v)` with the double value v of every element i < count.
template <typename Store>
void generate(InitKind kind, double a, double b, uint64_t seed, uint64_t stream, size_t count,
              Store store) {
  if (kind == InitKind::kConstant) {
    for (size_t i = 0; i < count; ++i)
      store(i, a);
    return;
  }
  for (size_t first = 0; first < count; first += 4) {
    philox::Counter words = philox::randomBlock(seed, stream, first / 4);
    size_t inBlock = std::min<size_t>(4, count - first);
    if (kind == InitKind::kUniform) {
      for (size_t j = 0; j < inBlock; ++j)
        store(first + j, std::fma(b - a, philox::wordToUniform01(words[j]), a));
      continue;
    }
    for (size_t pair = 0; 2 * pair < inBlock; ++pair) {
      std::array<double, 2> normals = philox::boxMuller(words[2 * pair], words[2 * pair + 1]);
      for (size_t j = 0; j < 2 && 2 * pair + j < inBlock; ++j)
        store(first + 2 * pair + j, std::fma(b, normals[j], a));
    }
  }
}

} // namespace

void fillInitializer(InitKind kind, double a, double b, uint64_t seed, uint64_t stream,
                     std::span<float> values) {
  generate(kind, a, b, seed, stream, values.size(),
           [&](size_t i, double value) { values[i] = static_cast<float>(value); });
}

void fillInitializer(InitKind kind, double a, double b, uint64_t seed, uint64_t stream,
                     std::span<double> values) {
  generate(kind, a, b, seed, stream, values.size(),
           [&](size_t i, double value) { values[i] = value; });
}

} // namespace kiln
