//===- CheckpointTest.cpp - Training checkpoints against their plan -------===//
//
// A checkpoint carries its plan's hash, step and data position; loading it for
// a plan checks the hash first, then every variable's dtype and shape.
//
//===----------------------------------------------------------------------===//

#include "CheckpointSamples.h"

#include "kiln/runtime/checkpoint/Checkpoint.h"

#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/Sha256.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln::checkpoint {
namespace {

using ::testing::HasSubstr;

using checkpoint_test::samplePlan;

TrainingState sampleState(const plan::Plan &plan) {
  TrainingState state;
  state.planSha256 = planSha256(plan);
  state.step = 20;
  state.dataEpoch = 1;
  state.dataBatch = 3;
  state.seed = 42;
  return state;
}

TensorFile sampleCheckpoint(const plan::Plan &plan) {
  std::map<std::string, HostTensor, std::less<>> variables;
  variables["fc1.weight"] = HostTensor(DType::kF32, {4, 3});
  variables["fc1.weight.adam_m"] = HostTensor(DType::kF32, {4, 3});
  variables["optimizer.step"] = HostTensor::scalar(20);
  return makeCheckpoint(std::move(variables), sampleState(plan));
}

std::string errorOf(const TensorFile &file, const plan::Plan &plan) {
  auto state = validateCheckpoint(file, plan, "c.safetensors");
  EXPECT_FALSE(state.ok());
  return state.ok() ? std::string() : std::string(state.status().message());
}

TEST(CheckpointTest, PlanHashIsTheDigestOfThePlanFilePayload) {
  plan::Plan plan = samplePlan();
  std::string fileBytes = plan::encodePlanFile(plan);
  // The .kplan header stores SHA-256 of the payload at bytes 24..56.
  Sha256Digest stored;
  std::copy(fileBytes.begin() + 24, fileBytes.begin() + 56, stored.begin());
  EXPECT_EQ(planSha256(plan), toHex(stored));
  EXPECT_EQ(planSha256(plan).size(), 64u);
}

TEST(CheckpointTest, StateSurvivesAnEncodeDecodeRoundTrip) {
  plan::Plan plan = samplePlan();
  auto bytes = encodeSafetensors(sampleCheckpoint(plan));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto file = decodeSafetensors(*bytes, "c.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->metadata.at("kiln.format"), "kiln-checkpoint-1");
  auto state = validateCheckpoint(*file, plan, "c.safetensors");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->planSha256, planSha256(plan));
  EXPECT_EQ(state->step, 20);
  EXPECT_EQ(state->dataEpoch, 1);
  EXPECT_EQ(state->dataBatch, 3);
  EXPECT_EQ(state->seed, 42u);
  EXPECT_EQ(file->tensors.at("optimizer.step").f32()[0], 20.0f);
}

TEST(CheckpointTest, AnotherPlansCheckpointIsRefused) {
  plan::Plan plan = samplePlan();
  TensorFile file = sampleCheckpoint(plan);
  plan::Plan other = plan;
  other.mutable_metadata()->set_model_name("mlp2");
  auto state = validateCheckpoint(file, other, "c.safetensors");
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(state.status().message(), "checkpoint c.safetensors was written for plan " +
                                          planSha256(plan) + ", but this plan is " +
                                          planSha256(other) +
                                          "; resume with the plan it was trained with");
}

TEST(CheckpointTest, MetadataErrors) {
  plan::Plan plan = samplePlan();
  TensorFile file = sampleCheckpoint(plan);
  file.metadata.erase("kiln.format");
  EXPECT_THAT(errorOf(file, plan), HasSubstr("no kiln.format metadata"));
  file = sampleCheckpoint(plan);
  file.metadata["kiln.format"] = "kiln-checkpoint-9";
  EXPECT_THAT(errorOf(file, plan), HasSubstr("format 'kiln-checkpoint-9' is not the one"));
  file = sampleCheckpoint(plan);
  file.metadata["kiln.step"] = "twenty";
  EXPECT_THAT(errorOf(file, plan),
              HasSubstr("kiln.step metadata is 'twenty'; expected a non-negative integer"));
  file = sampleCheckpoint(plan);
  file.metadata.erase("kiln.data_batch");
  EXPECT_THAT(errorOf(file, plan), HasSubstr("kiln.data_batch metadata is missing"));
  file = sampleCheckpoint(plan);
  file.metadata["kiln.seed"] = "-1";
  EXPECT_THAT(errorOf(file, plan), HasSubstr("kiln.seed metadata is '-1'"));
  // Beyond what --seed accepts.
  file.metadata["kiln.seed"] = "9223372036854775808";
  EXPECT_THAT(errorOf(file, plan),
              HasSubstr("kiln.seed metadata is '9223372036854775808'; expected an integer in [0, "
                        "9223372036854775807] (the range of --seed)"));
  // A data position ahead of the step count.
  file = sampleCheckpoint(plan);
  file.metadata["kiln.step"] = "3";
  file.metadata["kiln.data_epoch"] = "4000000000";
  EXPECT_THAT(errorOf(file, plan), HasSubstr("its data position (epoch 4000000000, batch "));
  EXPECT_THAT(errorOf(file, plan), HasSubstr("lies beyond its step 3"));
}

TEST(CheckpointTest, VariableErrorsNameTheTensor) {
  plan::Plan plan = samplePlan();
  TensorFile file = sampleCheckpoint(plan);
  file.tensors.erase("fc1.weight.adam_m");
  EXPECT_EQ(errorOf(file, plan),
            "checkpoint c.safetensors: no tensor for the plan's variable 'fc1.weight.adam_m'");
  file = sampleCheckpoint(plan);
  file.tensors["fc1.weight"] = HostTensor(DType::kF32, {3, 4});
  EXPECT_THAT(errorOf(file, plan),
              HasSubstr("tensor 'fc1.weight' is f32[3x4] but the plan's variable is f32[4x3]"));
  file = sampleCheckpoint(plan);
  file.tensors["optimizer.step"] = HostTensor(DType::kF64, {});
  EXPECT_THAT(errorOf(file, plan), HasSubstr("tensor 'optimizer.step' is f64"));
  file = sampleCheckpoint(plan);
  file.tensors["fc2.bias"] = HostTensor(DType::kF32, {2});
  EXPECT_THAT(errorOf(file, plan), HasSubstr("tensor 'fc2.bias' is not a variable of this plan"));
}

} // namespace
} // namespace kiln::checkpoint
