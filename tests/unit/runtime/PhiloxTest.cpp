//===- PhiloxTest.cpp - Philox-4x32-10 and Kiln's mapping onto it --------===//
//
// Known answers from Random123's kat_vectors (philox4x32 with 10 rounds), then
// the documented (seed, stream, index) -> counter mapping and the derived
// uniform and normal values.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Philox.h"

#include "gtest/gtest.h"

#include <cmath>
#include <set>

namespace kiln::philox {
namespace {

TEST(Philox, MatchesRandom123KnownAnswers) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (Counter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(
      philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
      (Counter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(
      philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
      (Counter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Philox, KeyIsTheSeedAndCounterIsBlockThenStream) {
  uint64_t seed = 0x0123456789abcdefull, stream = 0xfedcba9876543210ull;
  EXPECT_EQ(keyOf(seed), (Key{0x89abcdef, 0x01234567}));
  uint64_t block = (uint64_t{5} << 32) | 7;
  EXPECT_EQ(counterOf(stream, block), (Counter{7, 5, 0x76543210, 0xfedcba98}));
  EXPECT_EQ(randomBlock(seed, stream, block),
            philox4x32_10({7, 5, 0x76543210, 0xfedcba98}, {0x89abcdef, 0x01234567}));
}

TEST(Philox, WordIndexSelectsBlockAndLane) {
  uint64_t seed = 42, stream = 3;
  for (uint64_t index : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{4},
                         uint64_t{1001}, (uint64_t{1} << 34) + 6}) {
    Counter block = randomBlock(seed, stream, index / 4);
    EXPECT_EQ(randomWord(seed, stream, index), block[index % 4]) << index;
  }
}

TEST(Philox, SeedsAndStreamsGiveDifferentSequences) {
  std::set<uint32_t> words;
  for (uint64_t seed : {0u, 1u})
    for (uint64_t stream : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 32})
      words.insert(randomWord(seed, stream, 0));
  EXPECT_EQ(words.size(), 6u);
}

TEST(Philox, UniformUsesTheTop24Bits) {
  EXPECT_EQ(wordToUniform01(0), 0.0f);
  EXPECT_EQ(wordToUniform01(0xffffffff), 1.0f - 0x1p-24f);
  EXPECT_EQ(wordToUniform01(0x80000000), 0.5f);
  EXPECT_EQ(wordToUniform01(0x000000ff), 0.0f);
  EXPECT_EQ(uniform01(9, 2, 13), wordToUniform01(randomWord(9, 2, 13)));
}

TEST(Philox, UniformDoubleUses53BitsOfTwoWords) {
  for (uint64_t index : {0u, 1u, 2u, 77u}) {
    uint64_t high = randomWord(5, 1, 2 * index) >> 5;
    uint64_t low = randomWord(5, 1, 2 * index + 1) >> 6;
    EXPECT_EQ(uniform01Double(5, 1, index), static_cast<double>(high * 67108864 + low) / 0x1p53);
  }
  for (uint64_t index = 0; index < 1000; ++index) {
    double u = uniform01Double(1, 0, index);
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

TEST(Philox, BoxMullerOnHandPickedWords) {
  // u1 = 1: radius 0.
  EXPECT_EQ(boxMuller(0xffffffff, 0x12345678), (std::array<double, 2>{0.0, 0.0}));
  // u1 = 1/2, u2 = 1/4: theta = pi/2, radius sqrt(2 ln 2).
  std::array<double, 2> z = boxMuller(((1u << 23) - 1) << 8, (1u << 22) << 8);
  EXPECT_NEAR(z[0], 0.0, 1e-15);
  EXPECT_NEAR(z[1], std::sqrt(2 * std::log(2.0)), 1e-15);
  // u1 = 2^-24, the smallest: the largest radius, finite.
  EXPECT_NEAR(boxMuller(0, 0)[0], std::sqrt(2 * 24 * std::log(2.0)), 1e-12);
}

TEST(Philox, NormalPairsElementsWithinEachBlock) {
  uint64_t seed = 11, stream = 4;
  Counter block = randomBlock(seed, stream, 3);
  std::array<double, 2> first = boxMuller(block[0], block[1]);
  std::array<double, 2> second = boxMuller(block[2], block[3]);
  EXPECT_EQ(standardNormal(seed, stream, 12), first[0]);
  EXPECT_EQ(standardNormal(seed, stream, 13), first[1]);
  EXPECT_EQ(standardNormal(seed, stream, 14), second[0]);
  EXPECT_EQ(standardNormal(seed, stream, 15), second[1]);
}

} // namespace
} // namespace kiln::philox
