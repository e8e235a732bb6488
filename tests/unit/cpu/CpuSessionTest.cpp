//===- CpuSessionTest.cpp - Plans of native code through session::Session -===//

#include "CpuTestSupport.h"

#include "kiln/runtime/Initializer.h"
#include "kiln/runtime/cpu/Device.h"
#include "kiln/runtime/cpu/Session.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstring>

namespace kiln::cpu {
namespace {

using ::testing::HasSubstr;
using testing::kElements;

std::vector<float> values(const HostTensor &tensor) {
  std::span<const float> data = tensor.f32();
  return {data.begin(), data.end()};
}

std::unique_ptr<session::Session> create(plan::Plan plan, uint32_t threads) {
  SessionOptions options;
  options.threads = threads;
  absl::StatusOr<std::unique_ptr<session::Session>> session =
      createSession(std::move(plan), options);
  EXPECT_TRUE(session.ok()) << session.status();
  return session.ok() ? *std::move(session) : nullptr;
}

class CpuThreadsTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(CpuThreadsTest, AccumulateStepsExactly) {
  std::unique_ptr<session::Session> session = create(testing::makeAccumulatePlan(), GetParam());
  ASSERT_NE(session, nullptr);
  absl::StatusOr<HostTensor> initial = session->variable("acc");
  ASSERT_TRUE(initial.ok()) << initial.status();
  std::vector<float> acc = values(*initial), b = testing::defaultB();
  for (int step = 0; step < 3; ++step) {
    std::vector<float> a(kElements);
    for (int64_t i = 0; i < kElements; ++i)
      a[i] = 0.5f * static_cast<float>(i) - static_cast<float>(step);
    ASSERT_TRUE(session->step({{"a", HostTensor::f32({kElements}, a)}}).ok());
    absl::StatusOr<HostTensor> sum = session->output("sum"), out = session->output("out");
    ASSERT_TRUE(sum.ok() && out.ok()) << sum.status() << out.status();
    for (int64_t i = 0; i < kElements; ++i) {
      float expectedSum = a[i] + b[i];
      float expectedOut = 0.5f * (expectedSum + acc[i]);
      ASSERT_EQ(values(*sum)[i], expectedSum) << "step " << step << " element " << i;
      ASSERT_EQ(values(*out)[i], expectedOut) << "step " << step << " element " << i;
      acc[i] = expectedOut;
    }
  }
  absl::StatusOr<HostTensor> final = session->variable("acc");
  ASSERT_TRUE(final.ok());
  EXPECT_EQ(values(*final), acc);

  session::SessionStats stats = session->stats();
  EXPECT_EQ(stats.steps, 3u);
  EXPECT_EQ(stats.submitsPerStep, 1.0);
  EXPECT_EQ(stats.dispatchesPerStep, 3.0);
  EXPECT_EQ(stats.deviceType, "CPU");
  EXPECT_EQ(stats.kernels, 2u);
  EXPECT_EQ(stats.deviceMember("threads"), absl::StrCat(GetParam()));
  EXPECT_EQ(stats.deviceMember("isa"), "\"x86-64-v3\"");
  EXPECT_EQ(stats.deviceMember("phases_per_step"), "4");
  EXPECT_TRUE(stats.gpuStepSeconds.has_value());
  EXPECT_THAT(session::toJson(stats), HasSubstr("\"threads\": "));
}

/// The rows of m · v computed on the host in the kernel's order (no FMA contraction).
std::vector<float> hostRowDot(const std::vector<float> &m, const std::vector<float> &v,
                              uint32_t rows) {
  std::vector<float> out(rows);
  for (uint32_t row = 0; row < rows; ++row) {
    volatile float partial = 0.0f;
    for (int64_t c = 0; c < testing::kColumns; ++c) {
      volatile float product = m[row * testing::kColumns + c] * v[c];
      partial = partial + product;
    }
    out[row] = partial;
  }
  return out;
}

TEST(CpuSessionTest, ResultsDoNotDependOnTheThreadCount) {
  constexpr uint32_t kRows = 53; // not a multiple of 2 or 3: uneven splits
  std::vector<float> m(kRows * testing::kColumns), v(testing::kColumns);
  for (size_t i = 0; i < m.size(); ++i)
    m[i] = std::sin(0.37f * static_cast<float>(i)) * 3.0f;
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = 1.0f / (1.0f + static_cast<float>(i));
  std::vector<float> expected = hostRowDot(m, v, kRows);
  std::vector<std::vector<float>> results;
  for (uint32_t threads : {1u, 2u, 3u, 4u}) {
    std::unique_ptr<session::Session> session = create(testing::makeRowDotPlan(kRows), threads);
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session
                    ->step({{"m", HostTensor::f32({kRows, testing::kColumns}, m)},
                            {"v", HostTensor::f32({testing::kColumns}, v)}})
                    .ok());
    absl::StatusOr<HostTensor> out = session->output("out");
    ASSERT_TRUE(out.ok()) << out.status();
    results.push_back(values(*out));
  }
  for (size_t run = 0; run < results.size(); ++run) {
    ASSERT_EQ(results[run].size(), expected.size());
    EXPECT_EQ(std::memcmp(results[run].data(), expected.data(), 4 * expected.size()), 0)
        << "run " << run << " differs from the host's sum";
  }
}

/// makeAccumulatePlan with "next" in a 64-aligned arena and a program "probe" (no inputs) that
/// writes "halved" = 0.5 * acc.
plan::Plan accumulateWithArenaAndProbe() {
  plan::Plan plan = testing::makeAccumulatePlan();
  plan.mutable_memory()->set_alignment(64);
  plan.mutable_memory()->set_arena_bytes(64 + 4 * kElements);
  plan.mutable_buffers(testing::kNext)->set_in_arena(true);
  plan.mutable_buffers(testing::kNext)->set_arena_offset(64);
  plan::Buffer *halved = plan.add_buffers();
  halved->set_name("probe.halved");
  halved->set_size_bytes(4 * kElements);
  halved->set_role(plan::BUFFER_ROLE_OUTPUT);
  plan::TensorSpec *output = plan.add_outputs()->mutable_tensor();
  output->set_name("halved");
  output->set_dtype(plan::DTYPE_F32);
  output->add_shape(kElements);
  output->set_buffer(plan.buffers_size() - 1);
  plan::Step &probe = *plan.add_programs();
  probe.set_name("probe");
  probe.add_outputs(plan.outputs_size() - 1);
  plan::Dispatch *dispatch = probe.add_commands()->mutable_dispatch();
  dispatch->set_kernel(1);
  dispatch->add_buffers(plan.buffers_size() - 1);
  dispatch->add_buffers(testing::kAccumulator);
  dispatch->mutable_group_count()->set_x(1);
  dispatch->mutable_group_count()->set_y(1);
  dispatch->mutable_group_count()->set_z(1);
  return plan;
}

TEST_P(CpuThreadsTest, ArenaBuffersAndPrograms) {
  std::unique_ptr<session::Session> session = create(accumulateWithArenaAndProbe(), GetParam());
  ASSERT_NE(session, nullptr);
  std::vector<float> a(kElements, 1.5f), b = testing::defaultB();
  std::vector<float> acc = values(*session->variable("acc"));
  for (int step = 0; step < 2; ++step) {
    ASSERT_TRUE(session->step({{"a", HostTensor::f32({kElements}, a)}}).ok());
    for (int64_t i = 0; i < kElements; ++i)
      acc[i] = 0.5f * ((a[i] + b[i]) + acc[i]);
    absl::StatusOr<session::TensorMap> probe = session->run("probe", {});
    ASSERT_TRUE(probe.ok()) << probe.status();
    std::vector<float> halved = values(probe->at("halved"));
    for (int64_t i = 0; i < kElements; ++i)
      ASSERT_EQ(halved[i], 0.5f * acc[i]) << "step " << step << " element " << i;
  }
  EXPECT_EQ(values(*session->variable("acc")), acc);
  // setVariable reaches the buffer the kernels read.
  std::vector<float> zeros(kElements, 0.0f);
  ASSERT_TRUE(session->setVariable("acc", HostTensor::f32({kElements}, zeros)).ok());
  absl::StatusOr<session::TensorMap> probe = session->run("probe", {});
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_EQ(values(probe->at("halved")), zeros);
  EXPECT_EQ(session->stats().programRuns, 3u);
}

INSTANTIATE_TEST_SUITE_P(Threads, CpuThreadsTest, ::testing::Values(1u, 2u, 3u));

void expectRefused(plan::Plan plan, absl::StatusCode code, const std::string &message) {
  absl::StatusOr<std::unique_ptr<session::Session>> session = createSession(std::move(plan));
  ASSERT_FALSE(session.ok()) << "accepted; expected " << message;
  EXPECT_EQ(session.status().code(), code) << session.status();
  EXPECT_THAT(session.status().message(), HasSubstr(message));
}

TEST(CpuSessionTest, RefusesPlansWithoutCpuCode) {
  plan::Plan plan = testing::makeAccumulatePlan();
  plan.mutable_metadata()->set_targets(0, plan::TARGET_CUDA);
  for (plan::Kernel &kernel : *plan.mutable_kernels())
    kernel.add_ptx_code()->set_arch("sm_80");
  expectRefused(plan, absl::StatusCode::kFailedPrecondition,
                "plan 'accumulate' was compiled for cuda, not cpu; it carries no CPU code");
}

TEST(CpuSessionTest, RefusesPushConstants) {
  plan::Plan plan = testing::makeAccumulatePlan();
  plan.mutable_kernels(1)->set_push_constant_size(4);
  expectRefused(plan, absl::StatusCode::kFailedPrecondition,
                "kernel 'half' uses 4 bytes of push constants, which the CPU kernel ABI does "
                "not have");
}

TEST(CpuSessionTest, RefusesDamagedCode) {
  plan::Plan hash = testing::makeAccumulatePlan();
  (*hash.mutable_cpu_images(0)->mutable_code())[64] ^= 0x10;
  expectRefused(hash, absl::StatusCode::kDataLoss,
                "cpu image 'x86-64-v3': its code does not match its sha256");

  plan::Plan relocated = testing::makeAccumulatePlan();
  *relocated.mutable_cpu_images(0) = testing::makeImage(testing::readImage("relocated"));
  expectRefused(relocated, absl::StatusCode::kFailedPrecondition, "bytes of dynamic relocations");

  plan::Plan outside = testing::makeAccumulatePlan();
  outside.mutable_kernels(1)->mutable_cpu_entries(0)->set_offset(4096); // the writable segment
  expectRefused(outside, absl::StatusCode::kFailedPrecondition,
                "kernel 'half': its x86-64-v3 entry at offset 4096 is not inside an executable "
                "segment");

  plan::Plan beyond = testing::makeAccumulatePlan();
  beyond.mutable_kernels(0)->mutable_cpu_entries(0)->set_offset(1u << 20);
  expectRefused(beyond, absl::StatusCode::kInvalidArgument,
                "invalid plan: kernel 0 ('add') cpu entry 0 (x86-64-v3) starts at offset 1048576");
}

TEST(CpuSessionTest, HostRunsTheBaselineIsa) {
  std::vector<std::string> isas = hostIsas();
  EXPECT_THAT(isas, ::testing::Contains("x86-64-v3"));
}

} // namespace
} // namespace kiln::cpu
