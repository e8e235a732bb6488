//===- InitializerTest.cpp - Initial values from #graph.init -------------===//
//
// Exact formulas element by element, then the statistics of large fills
// (bounds are five standard errors, so a correct generator fails with
// probability below 1e-6 and a wrong scale or offset fails for certain).
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Initializer.h"

#include "kiln/runtime/Philox.h"

#include "gtest/gtest.h"

#include <cmath>
#include <vector>

namespace kiln {
namespace {

struct Moments {
  double mean = 0, variance = 0;
};

Moments moments(const std::vector<float> &values) {
  Moments m;
  for (float v : values)
    m.mean += v;
  m.mean /= values.size();
  for (float v : values)
    m.variance += (v - m.mean) * (v - m.mean);
  m.variance /= values.size() - 1;
  return m;
}

TEST(Initializer, ConstantFillsEveryElement) {
  std::vector<float> values(7, -1.0f);
  fillInitializer(InitKind::kConstant, 0.25, 99.0, 1, 2, values);
  for (float v : values)
    EXPECT_EQ(v, 0.25f);
}

TEST(Initializer, UniformFollowsTheDocumentedFormula) {
  std::vector<float> values(11);
  fillInitializer(InitKind::kUniform, -0.5, 1.5, 7, 3, values);
  for (size_t i = 0; i < values.size(); ++i) {
    double u = philox::uniform01(7, 3, i);
    EXPECT_EQ(values[i], static_cast<float>(std::fma(2.0, u, -0.5))) << i;
  }
}

TEST(Initializer, NormalFollowsTheDocumentedFormula) {
  std::vector<float> values(11);
  fillInitializer(InitKind::kNormal, 0.5, 2.0, 7, 3, values);
  for (size_t i = 0; i < values.size(); ++i) {
    double z = philox::standardNormal(7, 3, i);
    EXPECT_EQ(values[i], static_cast<float>(std::fma(2.0, z, 0.5))) << i;
  }
}

TEST(Initializer, ShortFillIsAPrefixOfALongOne) {
  for (InitKind kind : {InitKind::kUniform, InitKind::kNormal}) {
    std::vector<float> shortFill(5), longFill(64);
    fillInitializer(kind, 0, 1, 3, 0, shortFill);
    fillInitializer(kind, 0, 1, 3, 0, longFill);
    for (size_t i = 0; i < shortFill.size(); ++i)
      EXPECT_EQ(shortFill[i], longFill[i]);
  }
}

TEST(Initializer, DoubleVariantRoundsToTheFloatVariant) {
  for (InitKind kind : {InitKind::kConstant, InitKind::kUniform, InitKind::kNormal}) {
    std::vector<float> floats(1000);
    std::vector<double> doubles(1000);
    fillInitializer(kind, -0.1, 0.3, 5, 9, floats);
    fillInitializer(kind, -0.1, 0.3, 5, 9, doubles);
    int differentFromFloat = 0;
    for (size_t i = 0; i < floats.size(); ++i) {
      EXPECT_EQ(static_cast<float>(doubles[i]), floats[i]) << i;
      differentFromFloat += doubles[i] != static_cast<double>(floats[i]);
    }
    EXPECT_GT(differentFromFloat, 0) << "the double variant should keep more precision";
  }
}

TEST(Initializer, StreamsAndSeedsAreIndependent) {
  std::vector<float> a(16), b(16), c(16);
  fillInitializer(InitKind::kUniform, 0, 1, 0, 0, a);
  fillInitializer(InitKind::kUniform, 0, 1, 0, 1, b);
  fillInitializer(InitKind::kUniform, 0, 1, 1, 0, c);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(b, c);
}

TEST(Initializer, UniformStatistics) {
  const double low = -0.0357, high = 0.0357;
  std::vector<float> values(200000);
  fillInitializer(InitKind::kUniform, low, high, 0, 0, values);
  for (float v : values) {
    ASSERT_GE(v, static_cast<float>(low));
    ASSERT_LT(v, static_cast<float>(high));
  }
  Moments m = moments(values);
  double width = high - low, n = values.size();
  double expectedVariance = width * width / 12;
  EXPECT_NEAR(m.mean, (low + high) / 2, 5 * std::sqrt(expectedVariance / n));
  // The variance of a uniform sample variance is (w^4/80 - w^4/144) / n.
  EXPECT_NEAR(m.variance, expectedVariance,
              5 * std::sqrt((1.0 / 80 - 1.0 / 144) * std::pow(width, 4) / n));
}

TEST(Initializer, NormalStatistics) {
  const double mean = 1.5, stddev = 0.2;
  std::vector<float> values(200000);
  fillInitializer(InitKind::kNormal, mean, stddev, 4, 2, values);
  Moments m = moments(values);
  double n = values.size();
  EXPECT_NEAR(m.mean, mean, 5 * stddev / std::sqrt(n));
  EXPECT_NEAR(m.variance, stddev * stddev, 5 * stddev * stddev * std::sqrt(2 / n));
  // The share within one standard deviation is 68.27%.
  double within = 0;
  for (float v : values)
    within += std::abs(v - mean) < stddev;
  double p = 0.682689492;
  EXPECT_NEAR(within / n, p, 5 * std::sqrt(p * (1 - p) / n));
}

} // namespace
} // namespace kiln
