//===- IndexDeterminismTest.cpp - scatter_add has the same bits everywhere ===//
//
// graph.scatter_add sums the updates of repeated indices in ascending index
// position in float32 on every device (docs/design/gather.md). Here a
// scatter-add with about 12 terms per row (and some out-of-range indices) runs
// twice on each device, in two sessions, and the results must be identical
// bit for bit to each other and to the reference device's; they must also be
// close to a double-precision sum, so the comparison is of right answers. The
// same holds for the table gradient of a gather, which kiln-autodiff writes as
// a scatter_add. And the out-of-range count kiln::gatherOutOfRange builds is
// exact on every device.
//
//===----------------------------------------------------------------------===//

#include "DeviceCases.h"

#include "OpHarness.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/Compiler/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "gtest/gtest.h"

#include <cmath>
#include <cstring>

namespace kiln::conformance {
namespace {

constexpr int64_t kRows = 64, kWidth = 16, kCount = 768;

/// result = scatter_add(updates [768, 16], indices [768]) : [64, 16] along axis 0; and
/// the same scatter along axis 1 of updates [2, 384, 16] into [2, 64, 16].
std::string scatterModule() {
  return R"(module {
  func.func @step() {
    %u = graph.input "updates" : tensor<768x16xf32>
    %i = graph.input "indices" : tensor<768xi32>
    %result = graph.scatter_add %u, %i axis = 0 : tensor<768x16xf32>, tensor<768xi32> -> tensor<64x16xf32>
    %u2 = graph.reshape %u : tensor<768x16xf32> to tensor<2x384x16xf32>
    %i2 = graph.input "indices2" : tensor<384xi32>
    %result2 = graph.scatter_add %u2, %i2 axis = 1 : tensor<2x384x16xf32>, tensor<384xi32> -> tensor<2x64x16xf32>
    graph.output "result", %result : tensor<64x16xf32>
    graph.output "result2", %result2 : tensor<2x64x16xf32>
    return
  }
}
)";
}

/// The table gradient of sum(gather(table, indices) * weights) as an output.
std::string gatherGradientModule() {
  return R"(module {
  graph.variable @table trainable : tensor<64x16xf32> = #graph.init<normal(0.0, 1.0), seed = 3, stream = 0>
  func.func @step() {
    %t = graph.read @table : tensor<64x16xf32>
    %i = graph.input "indices" : tensor<768xi32>
    %w = graph.input "updates" : tensor<768x16xf32>
    %rows = graph.gather %t, %i axis = 0 : tensor<64x16xf32>, tensor<768xi32> -> tensor<768x16xf32>
    %weighted = graph.mul %rows, %w : tensor<768x16xf32>
    %loss = graph.reduce_sum %weighted [0, 1] : tensor<768x16xf32> -> tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
)";
}

struct Inputs {
  session::TensorMap tensors;
  std::vector<float> updates;
  std::vector<int32_t> indices, indices2;
};

Inputs makeInputs() {
  Inputs in;
  ops_test::Random random(0x5ca77e2ull);
  for (int64_t i = 0; i < kCount * kWidth; ++i)
    in.updates.push_back(static_cast<float>(random.uniform(-2, 2)));
  // Mostly in range (about 12 per row), with a few below 0 and at or past the end.
  for (int64_t i = 0; i < kCount; ++i)
    in.indices.push_back(static_cast<int32_t>(random.integer(-1, kRows + 1)));
  for (int64_t i = 0; i < kCount / 2; ++i)
    in.indices2.push_back(static_cast<int32_t>(random.integer(0, kRows)));
  in.tensors["updates"] = HostTensor::f32({kCount, kWidth}, in.updates);
  in.tensors["indices"] = HostTensor::i32({kCount}, in.indices);
  in.tensors["indices2"] = HostTensor::i32({kCount / 2}, in.indices2);
  return in;
}

/// Runs `text` (differentiated first when `train`) on `device` once in a fresh session and
/// returns the outputs `names` as raw bytes.
std::vector<std::vector<uint8_t>> runOnce(const DeviceCase &device, const std::string &text,
                                          bool train, const Inputs &inputs,
                                          const std::vector<std::string> &names) {
  std::unique_ptr<mlir::MLIRContext> context = ops_test::makeContext();
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(context.get(), [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, context.get());
  if (!module) {
    ADD_FAILURE() << diagnostics;
    return {};
  }
  if (train) {
    mlir::PassManager passes(context.get());
    passes.addPass(createAutodiff());
    if (mlir::failed(passes.run(*module))) {
      ADD_FAILURE() << diagnostics;
      return {};
    }
  }
  codegen::CodegenOptions options;
  options.targets = device.targets;
  mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(*module, options);
  if (mlir::failed(plan)) {
    ADD_FAILURE() << "codegen failed:\n" << diagnostics;
    return {};
  }
  absl::StatusOr<std::unique_ptr<session::Session>> session = device.create(*std::move(plan));
  if (!session.ok()) {
    ADD_FAILURE() << session.status();
    return {};
  }
  if (absl::Status status = (*session)->step(inputs.tensors); !status.ok()) {
    ADD_FAILURE() << status;
    return {};
  }
  std::vector<std::vector<uint8_t>> results;
  for (const std::string &name : names) {
    absl::StatusOr<HostTensor> value = (*session)->output(name);
    if (!value.ok()) {
      ADD_FAILURE() << value.status();
      return {};
    }
    results.emplace_back(value->bytes().begin(), value->bytes().end());
  }
  expectNoValidationMessages(device, **session);
  return results;
}

DeviceCase referenceDevice() {
  for (const DeviceCase &device : allDevices())
    if (device.name == "reference")
      return device;
  return {};
}

std::vector<float> asFloats(const std::vector<uint8_t> &bytes) {
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

class ScatterAddDeterminism : public ::testing::TestWithParam<DeviceCase> {
protected:
  void SetUp() override { KILN_REQUIRE_DEVICE(GetParam()); }
};

TEST_P(ScatterAddDeterminism, SameBitsTwiceAndAsTheReferenceDevice) {
  Inputs inputs = makeInputs();
  std::vector<std::string> names = {"result", "result2"};
  std::vector<std::vector<uint8_t>> first =
      runOnce(GetParam(), scatterModule(), false, inputs, names);
  std::vector<std::vector<uint8_t>> second =
      runOnce(GetParam(), scatterModule(), false, inputs, names);
  std::vector<std::vector<uint8_t>> reference =
      runOnce(referenceDevice(), scatterModule(), false, inputs, names);
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  ASSERT_EQ(reference.size(), 2u);
  for (size_t r = 0; r < names.size(); ++r) {
    EXPECT_EQ(first[r], second[r]) << names[r] << " differs bit-wise between two runs";
    EXPECT_EQ(first[r], reference[r]) << names[r] << " differs bit-wise from the reference device";
  }
  // And it is the right sum: against a double-precision one (float32 rounding of ~12 terms).
  std::vector<double> exact(kRows * kWidth, 0.0);
  for (int64_t n = 0; n < kCount; ++n)
    if (inputs.indices[n] >= 0 && inputs.indices[n] < kRows)
      for (int64_t j = 0; j < kWidth; ++j)
        exact[inputs.indices[n] * kWidth + j] += inputs.updates[n * kWidth + j];
  std::vector<float> actual = asFloats(first[0]);
  ASSERT_EQ(actual.size(), exact.size());
  for (size_t e = 0; e < exact.size(); ++e)
    ASSERT_NEAR(actual[e], exact[e], 1e-4 + 1e-5 * std::abs(exact[e])) << "element " << e;
}

TEST_P(ScatterAddDeterminism, GatherTableGradientHasTheSameBitsTwiceAndAsTheReference) {
  Inputs inputs = makeInputs();
  inputs.tensors.erase("indices2");
  std::string gradient = codegen::gradientOutputName("table");
  std::vector<std::vector<uint8_t>> first =
      runOnce(GetParam(), gatherGradientModule(), true, inputs, {gradient});
  std::vector<std::vector<uint8_t>> second =
      runOnce(GetParam(), gatherGradientModule(), true, inputs, {gradient});
  std::vector<std::vector<uint8_t>> reference =
      runOnce(referenceDevice(), gatherGradientModule(), true, inputs, {gradient});
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(reference.size(), 1u);
  EXPECT_EQ(first[0], second[0]) << "the table gradient differs bit-wise between two runs";
  EXPECT_EQ(first[0], reference[0]) << "the table gradient differs bit-wise from the reference";
}

// kiln::gatherOutOfRange's composite, as the builder writes it: the count of indices outside
// [0, 64) as a device-computed scalar (a gather of a splat table inside one reduction).
TEST_P(ScatterAddDeterminism, OutOfRangeCountIsExact) {
  Inputs inputs = makeInputs();
  inputs.tensors.erase("indices2");
  inputs.tensors.erase("updates");
  std::string text = R"(module {
  func.func @step() {
    %i = graph.input "indices" : tensor<768xi32>
    %ones = graph.constant dense<1.0> : tensor<64xf32>
    %read = graph.gather %ones, %i axis = 0 : tensor<64xf32>, tensor<768xi32> -> tensor<768xf32>
    %one = graph.constant dense<1.0> : tensor<768xf32>
    %missed = graph.sub %one, %read : tensor<768xf32>
    %count = graph.reduce_sum %missed [0] : tensor<768xf32> -> tensor<f32>
    graph.output "count", %count : tensor<f32>
    return
  }
}
)";
  std::vector<std::vector<uint8_t>> count = runOnce(GetParam(), text, false, inputs, {"count"});
  ASSERT_EQ(count.size(), 1u);
  int expected = 0;
  for (int32_t index : inputs.indices)
    expected += index < 0 || index >= kRows;
  ASSERT_GT(expected, 0) << "the drawn indices should include some out of range";
  EXPECT_EQ(asFloats(count[0]), std::vector<float>{static_cast<float>(expected)});
}

INSTANTIATE_TEST_SUITE_P(Devices, ScatterAddDeterminism, ::testing::ValuesIn(allDevices()),
                         [](const auto &info) { return info.param.name; });

} // namespace
} // namespace kiln::conformance
