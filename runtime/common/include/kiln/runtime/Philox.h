//===- Philox.h - Counter-based random numbers (Philox-4x32-10) -*- C++ -*-===//
//
// Kiln's only source of randomness. Philox-4x32-10 (Salmon, Moraes, Dror and
// Shaw, "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11; the constants of
// Random123) maps a 128-bit counter and a 64-bit key to 128 random bits, so
// element `i` of any random tensor is a pure function of (seed, stream, i):
// every device, and every thread of a GPU kernel, draws the same numbers
// without sharing state. No MLIR dependency.
//
// The mapping, which GPU kernels reproduce bit for bit:
//   key     = { lo32(seed), hi32(seed) }
//   counter = { lo32(block), hi32(block), lo32(stream), hi32(stream) }
//   words   = philox4x32_10(counter, key)       (four uint32 per block)
// The random word with index `i` of (seed, stream) is words[i % 4] of block
// i / 4. This is cuRAND's `curand_init(seed, subsequence = stream, offset)`
// layout: distinct (stream, block) pairs never share a counter.
//
// Derived values (all exact in IEEE arithmetic, no platform-dependent math):
//   uniform01(i)        = (word(i) >> 8) * 2^-24                  in [0, 1)
//   uniform01Double(i)  = ((word(2i) >> 5) * 2^26 + (word(2i+1) >> 6)) * 2^-53
//                                                                 in [0, 1)
//   standardNormal(i): Box-Muller on the word pair of element i. Element i
//     uses block b = i / 4; elements 4b, 4b+1 share words (w0, w1) and
//     elements 4b+2, 4b+3 share (w2, w3). For a pair (x, y):
//       u1 = ((x >> 8) + 1) * 2^-24   in (0, 1]  (never 0, so log is finite)
//       u2 = (y >> 8) * 2^-24         in [0, 1)
//       r  = sqrt(-2 log(u1)),  theta = 2 pi u2       (in double)
//     the even element is r cos(theta), the odd one r sin(theta).
//     Both outputs of every pair are used. Double-precision log/sin/cos are
//     within an ulp on every libm and GPU, so a value rounded to float matches
//     across platforms except in the rare case (about 1 in 10^8) where the
//     double lies within an ulp of a float rounding boundary.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_PHILOX_H
#define KILN_RUNTIME_PHILOX_H

#include <array>
#include <cstdint>

namespace kiln::philox {

using Counter = std::array<uint32_t, 4>;
using Key = std::array<uint32_t, 2>;

/// The Philox-4x32 bijection with 10 rounds: Random123's `philox4x32(ctr, key)`.
Counter philox4x32_10(Counter counter, Key key);

/// The key of `seed`: { lo32(seed), hi32(seed) }.
Key keyOf(uint64_t seed);

/// The counter of block `block` of `stream`.
Counter counterOf(uint64_t stream, uint64_t block);

/// The four random words of block `block` of (seed, stream): words 4*block to
/// 4*block + 3 of that sequence.
Counter randomBlock(uint64_t seed, uint64_t stream, uint64_t block);

/// Random word `index` of (seed, stream).
uint32_t randomWord(uint64_t seed, uint64_t stream, uint64_t index);

/// The float in [0, 1) a random word gives: its top 24 bits times 2^-24.
inline float wordToUniform01(uint32_t word) { return static_cast<float>(word >> 8) * 0x1p-24f; }

/// Element `index` of the uniform [0, 1) float sequence of (seed, stream).
float uniform01(uint64_t seed, uint64_t stream, uint64_t index);

/// Element `index` of the uniform [0, 1) double sequence of (seed, stream),
/// 53 random bits from words 2*index and 2*index + 1.
double uniform01Double(uint64_t seed, uint64_t stream, uint64_t index);

/// The two standard normal values Box-Muller makes of the word pair (x, y):
/// { r cos(theta), r sin(theta) } as described at the top of this file.
std::array<double, 2> boxMuller(uint32_t x, uint32_t y);

/// Element `index` of the standard normal sequence of (seed, stream).
double standardNormal(uint64_t seed, uint64_t stream, uint64_t index);

} // namespace kiln::philox

#endif // KILN_RUNTIME_PHILOX_H
