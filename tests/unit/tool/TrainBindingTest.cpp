//===- TrainBindingTest.cpp - kiln train binds plan inputs by name --------===//
//
// Plans built by hand (only their inputs matter here) bound to the fields a
// dataset provides: by name, flattening image examples, inputs left to their
// defaults or fed from the schedule, fields of a token dataset, and the
// messages for a wrong dtype, a wrong shape, disagreeing batch sizes and an
// input nothing feeds.
//
//===----------------------------------------------------------------------===//

#include "TrainBinding.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstring>

namespace kiln::tool {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

void addInput(plan::Plan &plan, const std::string &name, plan::DType dtype,
              std::vector<int64_t> shape, bool withDefault = false) {
  plan::Input *input = plan.add_inputs();
  input->mutable_tensor()->set_name(name);
  input->mutable_tensor()->set_dtype(dtype);
  for (int64_t extent : shape)
    input->mutable_tensor()->add_shape(extent);
  if (withDefault) {
    float one = 1;
    input->set_default_value(std::string(reinterpret_cast<const char *>(&one), sizeof one));
  }
}

/// The fields of an MNIST-like dataset: 28x28 images and labels.
std::vector<data::FieldSpec> imageFields() {
  return {{"images", DType::kF32, {28, 28}}, {"labels", DType::kI32, {}}};
}

std::string messageOf(const absl::StatusOr<InputBindings> &bindings) {
  EXPECT_FALSE(bindings.ok());
  return std::string(bindings.status().message());
}

TEST(TrainBindingTest, BindsDataFieldsByNameAndFlattensImages) {
  plan::Plan plan;
  addInput(plan, "images", plan::DTYPE_F32, {64, 784});
  addInput(plan, "labels", plan::DTYPE_I32, {64});
  addInput(plan, "learning_rate", plan::DTYPE_F32, {}, /*withDefault=*/true);
  auto bindings = bindInputs(plan, imageFields(), "mnist/train", /*feedLearningRate=*/false);
  ASSERT_TRUE(bindings.ok()) << bindings.status();
  EXPECT_EQ(bindings->batchSize, 64);
  ASSERT_EQ(bindings->inputs.size(), 3u);
  EXPECT_EQ(bindings->inputs[0].source, InputSource::kData);
  EXPECT_TRUE(bindings->inputs[0].flatten);
  EXPECT_EQ(bindings->inputs[1].source, InputSource::kData);
  EXPECT_FALSE(bindings->inputs[1].flatten);
  EXPECT_EQ(bindings->inputs[2].source, InputSource::kDefault);
  std::vector<data::BatchField> fields = bindings->batchFields();
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].field, "images");
  EXPECT_TRUE(fields[0].flatten);
  EXPECT_EQ(fields[1].field, "labels");
}

TEST(TrainBindingTest, ImagesKeepTheirShapeWhenThePlanAsksForIt) {
  plan::Plan plan;
  addInput(plan, "images", plan::DTYPE_F32, {4, 28, 28});
  addInput(plan, "labels", plan::DTYPE_I32, {4});
  auto bindings = bindInputs(plan, imageFields(), "mnist/train", false);
  ASSERT_TRUE(bindings.ok()) << bindings.status();
  EXPECT_FALSE(bindings->inputs[0].flatten);
}

TEST(TrainBindingTest, LearningRateComesFromTheScheduleWhenFed) {
  plan::Plan plan;
  addInput(plan, "images", plan::DTYPE_F32, {8, 784});
  addInput(plan, "learning_rate", plan::DTYPE_F32, {}, /*withDefault=*/true);
  auto bindings = bindInputs(plan, imageFields(), "mnist/train", /*feedLearningRate=*/true);
  ASSERT_TRUE(bindings.ok()) << bindings.status();
  EXPECT_EQ(bindings->inputs[1].source, InputSource::kSchedule);
  // A plan without labels takes only the images; the data's labels go unused.
  ASSERT_EQ(bindings->batchFields().size(), 1u);
  EXPECT_FALSE(bindings->fromData("labels"));
}

TEST(TrainBindingTest, LearningRateWithoutDefaultNeedsTheSchedule) {
  plan::Plan plan;
  addInput(plan, "images", plan::DTYPE_F32, {8, 784});
  addInput(plan, "learning_rate", plan::DTYPE_F32, {});
  EXPECT_EQ(messageOf(bindInputs(plan, imageFields(), "mnist/train", false)),
            "the plan's \"learning_rate\" input has no default value; give --lr X");
  EXPECT_TRUE(bindInputs(plan, imageFields(), "mnist/train", true).ok());
}

TEST(TrainBindingTest, TokenFieldsBindLikeAnyOther) {
  plan::Plan plan;
  addInput(plan, "tokens", plan::DTYPE_I32, {2, 16});
  addInput(plan, "targets", plan::DTYPE_I32, {2, 16});
  addInput(plan, "dropout", plan::DTYPE_F32, {}, /*withDefault=*/true);
  std::vector<data::FieldSpec> fields = {{"targets", DType::kI32, {16}},
                                         {"tokens", DType::kI32, {16}}};
  auto bindings = bindInputs(plan, fields, "tiny-text/train", false);
  ASSERT_TRUE(bindings.ok()) << bindings.status();
  EXPECT_EQ(bindings->batchSize, 2);
  std::vector<std::string> names;
  for (const data::BatchField &field : bindings->batchFields())
    names.push_back(field.field);
  EXPECT_THAT(names, ElementsAre("tokens", "targets"));
  EXPECT_EQ(bindings->inputs[2].source, InputSource::kDefault);
}

TEST(TrainBindingTest, AnInputNothingFeedsListsWhatTheDataProvides) {
  plan::Plan plan;
  addInput(plan, "x", plan::DTYPE_F32, {8, 16});
  addInput(plan, "y", plan::DTYPE_I32, {8});
  std::vector<data::FieldSpec> fields = {{"images", DType::kF32, {16}},
                                         {"labels", DType::kI32, {}}};
  EXPECT_EQ(messageOf(bindInputs(plan, fields, "gaussian-clusters/train", false)),
            "the plan takes an input \"x\" with no default value, which kiln train cannot "
            "feed: it feeds \"images\" and \"labels\" from --data and \"learning_rate\" from "
            "the schedule; give the input a default when building the model, or train it "
            "through the C++ API\n--data 'gaussian-clusters/train' provides: images f32 [16], "
            "labels i32 []; the plan's input \"x\" is f32 [8, 16]");
}

TEST(TrainBindingTest, APlanTakingNoFieldIsRefused) {
  plan::Plan plan;
  addInput(plan, "scale", plan::DTYPE_F32, {}, /*withDefault=*/true);
  EXPECT_THAT(messageOf(bindInputs(plan, imageFields(), "mnist/train", false)),
              HasSubstr("the plan takes none of the fields --data 'mnist/train' provides "
                        "(images f32 [28, 28], labels i32 [])"));
}

TEST(TrainBindingTest, AWrongShapeNamesTheInputTheFieldAndBothShapes) {
  plan::Plan plan;
  addInput(plan, "images", plan::DTYPE_F32, {4, 3072});
  EXPECT_EQ(messageOf(bindInputs(plan, imageFields(), "mnist/train", false)),
            "the plan's input \"images\" is f32 [4, 3072], batches of 4 examples of f32 [3072], "
            "but field \"images\" of 'mnist/train' holds f32 [28, 28] per example; build the "
            "model for the data's examples, or give --data whose \"images\" examples are f32 "
            "[3072]");
  // Only flattening is a reshape: [784] is [28, 28] flattened, [14, 56] is not.
  plan::Plan transposed;
  addInput(transposed, "images", plan::DTYPE_F32, {4, 14, 56});
  EXPECT_THAT(messageOf(bindInputs(transposed, imageFields(), "mnist/train", false)),
              HasSubstr("holds f32 [28, 28] per example"));
}

TEST(TrainBindingTest, AWrongDTypeNamesBoth) {
  plan::Plan plan;
  addInput(plan, "images", plan::DTYPE_F32, {8, 784});
  addInput(plan, "labels", plan::DTYPE_F32, {8});
  EXPECT_THAT(messageOf(bindInputs(plan, imageFields(), "mnist/train", false)),
              HasSubstr("the plan's input \"labels\" is f32 [8], batches of 8 examples of f32 "
                        "[], but field \"labels\" of 'mnist/train' holds i32 [] per example"));
}

TEST(TrainBindingTest, AScalarCannotTakeAField) {
  plan::Plan plan;
  addInput(plan, "labels", plan::DTYPE_I32, {});
  EXPECT_THAT(messageOf(bindInputs(plan, imageFields(), "mnist/train", false)),
              HasSubstr("the plan's input \"labels\" is i32 [], a scalar"));
}

TEST(TrainBindingTest, DataInputsMustShareTheBatchSize) {
  plan::Plan plan;
  addInput(plan, "images", plan::DTYPE_F32, {8, 784});
  addInput(plan, "labels", plan::DTYPE_I32, {4});
  EXPECT_EQ(messageOf(bindInputs(plan, imageFields(), "mnist/train", false)),
            "the plan's inputs fed from --data disagree on the batch size: \"images\" is f32 "
            "[8, 784] but \"labels\" is i32 [4]; every input fed from --data is [batch, ...] "
            "with one batch size");
}

TEST(TrainBindingTest, ProgramsTakeTheirOwnInputs) {
  plan::Plan plan;
  addInput(plan, "images", plan::DTYPE_F32, {8, 784});
  addInput(plan, "labels", plan::DTYPE_I32, {8});
  addInput(plan, "learning_rate", plan::DTYPE_F32, {}, true);
  plan::Step *eval = plan.add_programs();
  eval->set_name("eval");
  eval->add_inputs(0);
  EXPECT_THAT(programInputs(plan, plan.step()), ElementsAre("images", "labels", "learning_rate"));
  EXPECT_THAT(programInputs(plan, *eval), ElementsAre("images"));
  TensorMap batch;
  batch.emplace("images", HostTensor(DType::kF32, {8, 784}));
  batch.emplace("labels", HostTensor(DType::kI32, {8}));
  TensorMap selected = selectInputs(batch, programInputs(plan, *eval));
  ASSERT_EQ(selected.size(), 1u);
  EXPECT_EQ(selected.begin()->first, "images");
}

TEST(TrainBindingTest, InputsOfOtherProgramsAreLeftAlone) {
  // A language model with a "generate" program: its "generate.tokens" [1, 8] has no default,
  // but kiln train neither feeds it nor needs to.
  plan::Plan plan;
  addInput(plan, "tokens", plan::DTYPE_I32, {4, 8});
  addInput(plan, "targets", plan::DTYPE_I32, {4, 8});
  addInput(plan, "generate.tokens", plan::DTYPE_I32, {1, 8});
  plan.mutable_step()->add_inputs(0);
  plan.mutable_step()->add_inputs(1);
  plan::Step &eval = *plan.add_programs();
  eval.set_name("eval");
  eval.add_inputs(0);
  eval.add_inputs(1);
  plan::Step &generate = *plan.add_programs();
  generate.set_name("generate");
  generate.add_inputs(2);
  std::vector<data::FieldSpec> fields = {{"targets", DType::kI32, {8}},
                                         {"tokens", DType::kI32, {8}}};
  auto bindings = bindInputs(plan, fields, "t.txt/train", /*feedLearningRate=*/false);
  ASSERT_TRUE(bindings.ok()) << bindings.status();
  EXPECT_EQ(bindings->batchSize, 4);
  ASSERT_EQ(bindings->inputs.size(), 3u);
  EXPECT_EQ(bindings->inputs[2].source, InputSource::kDefault);
  EXPECT_EQ(bindings->batchFields().size(), 2u);
  // Read by the step, the same input is an error.
  plan.mutable_step()->add_inputs(2);
  EXPECT_THAT(messageOf(bindInputs(plan, fields, "t.txt/train", false)),
              HasSubstr("the plan takes an input \"generate.tokens\" with no default value"));
}

} // namespace
} // namespace kiln::tool
