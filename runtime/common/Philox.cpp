//===- Philox.cpp - Counter-based random numbers (Philox-4x32-10) --------===//
//
// The round function and constants follow Random123's philox.h; the mapping of
// (seed, stream, index) to counters is documented in Philox.h.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Philox.h"

#include <cmath>

namespace kiln::philox {
namespace {

constexpr uint32_t kMultiplier0 = 0xD2511F53;
constexpr uint32_t kMultiplier1 = 0xCD9E8D57;
constexpr uint32_t kWeyl0 = 0x9E3779B9; // golden ratio
constexpr uint32_t kWeyl1 = 0xBB67AE85; // sqrt(3) - 1
constexpr int kRounds = 10;
constexpr double kTwoPi = 6.283185307179586;

Counter round(Counter counter, Key key) {
  uint64_t product0 = static_cast<uint64_t>(kMultiplier0) * counter[0];
  uint64_t product1 = static_cast<uint64_t>(kMultiplier1) * counter[2];
  auto hi = [](uint64_t value) { return static_cast<uint32_t>(value >> 32); };
  auto lo = [](uint64_t value) { return static_cast<uint32_t>(value); };
  return {hi(product1) ^ counter[1] ^ key[0], lo(product1), hi(product0) ^ counter[3] ^ key[1],
          lo(product0)};
}

} // namespace

Counter philox4x32_10(Counter counter, Key key) {
  for (int r = 0; r < kRounds; ++r) {
    if (r > 0) {
      key[0] += kWeyl0;
      key[1] += kWeyl1;
    }
    counter = round(counter, key);
  }
  return counter;
}

Key keyOf(uint64_t seed) {
  return {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
}

Counter counterOf(uint64_t stream, uint64_t block) {
  return {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
          static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)};
}

Counter randomBlock(uint64_t seed, uint64_t stream, uint64_t block) {
  return philox4x32_10(counterOf(stream, block), keyOf(seed));
}

uint32_t randomWord(uint64_t seed, uint64_t stream, uint64_t index) {
  return randomBlock(seed, stream, index / 4)[index % 4];
}

float uniform01(uint64_t seed, uint64_t stream, uint64_t index) {
  return wordToUniform01(randomWord(seed, stream, index));
}

double uniform01Double(uint64_t seed, uint64_t stream, uint64_t index) {
  Counter words = randomBlock(seed, stream, index / 2);
  int first = static_cast<int>(index % 2) * 2;
  uint64_t high = words[first] >> 5, low = words[first + 1] >> 6;
  return static_cast<double>((high << 26) | low) * 0x1p-53;
}

std::array<double, 2> boxMuller(uint32_t x, uint32_t y) {
  double u1 = static_cast<double>((x >> 8) + 1) * 0x1p-24;
  double u2 = static_cast<double>(y >> 8) * 0x1p-24;
  double radius = std::sqrt(-2.0 * std::log(u1));
  double theta = kTwoPi * u2;
  return {radius * std::cos(theta), radius * std::sin(theta)};
}

double standardNormal(uint64_t seed, uint64_t stream, uint64_t index) {
  Counter words = randomBlock(seed, stream, index / 4);
  int pair = static_cast<int>(index % 4) / 2;
  return boxMuller(words[2 * pair], words[2 * pair + 1])[index % 2];
}

} // namespace kiln::philox
