//===- ConformanceFixture.h - A session on each device ----------*- C++ -*-===//
//
// The fixture of the conformance suite: for the device of the test's
// parameter, a session over the accumulate plan (AccumulateModel.h) and the
// host's model of it; skipped with the reason where the device is absent, and
// failing on any validation message the device reported.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_CONFORMANCE_CONFORMANCEFIXTURE_H
#define KILN_TESTS_UNIT_CONFORMANCE_CONFORMANCEFIXTURE_H

#include "AccumulateModel.h"
#include "DeviceCases.h"

#include "kiln/runtime/session/Session.h"

#include "gtest/gtest.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln::conformance {

/// 16 workgroups of 64, the last one partial.
inline constexpr int64_t kN = 1000;

/// The accumulate plan for kN, compiled once per test binary.
const plan::Plan &accumulatePlan();

inline HostTensor tensor(const std::vector<float> &values) {
  return HostTensor::f32({static_cast<int64_t>(values.size())}, values);
}

/// Every element of `actual` (f32[kN]) equals `expected` within 4 ulps.
void expectValues(const absl::StatusOr<HostTensor> &actual, const std::vector<float> &expected,
                  const std::string &what);

class ConformanceTest : public ::testing::TestWithParam<DeviceCase> {
protected:
  void SetUp() override;
  void TearDown() override;
  /// Fails the test listing the validation messages of `other` (a second session).
  void expectNoValidationMessages(const session::Session &other) const;

  std::unique_ptr<session::Session> session;
  HostModel model{kN};
};

} // namespace kiln::conformance

#endif // KILN_TESTS_UNIT_CONFORMANCE_CONFORMANCEFIXTURE_H
