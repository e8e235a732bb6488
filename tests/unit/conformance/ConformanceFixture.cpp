//===- ConformanceFixture.cpp - A session on each device ------------------===//

#include "ConformanceFixture.h"

namespace kiln::conformance {

const plan::Plan &accumulatePlan() {
  static const absl::StatusOr<plan::Plan> plan = compileAccumulatePlan(kN);
  EXPECT_TRUE(plan.ok()) << plan.status();
  static const plan::Plan empty;
  return plan.ok() ? *plan : empty;
}

void expectValues(const absl::StatusOr<HostTensor> &actual, const std::vector<float> &expected,
                  const std::string &what) {
  ASSERT_TRUE(actual.ok()) << what << ": " << actual.status();
  ASSERT_EQ(actual->dtype(), DType::kF32) << what;
  ASSERT_EQ(actual->shape(), std::vector<int64_t>{kN}) << what;
  std::span<const float> values = actual->f32();
  for (int64_t i = 0; i < kN; ++i)
    ASSERT_FLOAT_EQ(values[i], expected[i]) << what << " element " << i;
}

void ConformanceTest::SetUp() {
  KILN_REQUIRE_DEVICE(GetParam());
  absl::StatusOr<std::unique_ptr<session::Session>> created = GetParam().create(accumulatePlan());
  ASSERT_TRUE(created.ok()) << created.status();
  session = *std::move(created);
}

void ConformanceTest::TearDown() {
  if (session)
    expectNoValidationMessages(*session);
}

void ConformanceTest::expectNoValidationMessages(const session::Session &other) const {
  conformance::expectNoValidationMessages(GetParam(), other);
}

} // namespace kiln::conformance
