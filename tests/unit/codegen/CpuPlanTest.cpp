//===- CpuPlanTest.cpp - Plans for the cpu target, compiled and run -------===//
//
// A module whose kernels are a plain matmul and pointwise kernels compiles for the cpu target
// into a plan with an image per ISA and an entry per kernel and image; imported as exec IR
// and serialized again it is the same bytes; it runs on cpu::Device, bitwise the same on 1
// and 2 threads and equal to the reference device. Row and column reductions run like the
// reference device's, bitwise the same on 1 and 3 threads.
//
//===----------------------------------------------------------------------===//

#include "TestModules.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/Exec/Serialize.h"
#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/cpu/Session.h"
#include "kiln/runtime/reference/Device.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <span>

namespace kiln::codegen_test {
namespace {

// y = x·w (a matmul without epilogue); z = a·b + a (pointwise: two tiles, a tail of 904).
const char *kModule = R"(module @cpu_model {
  graph.variable @w : tensor<29x21xf32> = #graph.init<uniform(-1.0, 1.0), seed = 0, stream = 0>
  func.func @step() {
    %x = graph.input "x" : tensor<37x29xf32>
    %a = graph.input "a" : tensor<5000xf32>
    %b = graph.input "b" : tensor<5000xf32>
    %w = graph.read @w : tensor<29x21xf32>
    %y = graph.matmul %x, %w : tensor<37x29xf32>, tensor<29x21xf32> -> tensor<37x21xf32>
    %m = graph.mul %a, %b : tensor<5000xf32>
    %z = graph.add %m, %a : tensor<5000xf32>
    graph.output "y", %y : tensor<37x21xf32>
    graph.output "z", %z : tensor<5000xf32>
    return
  }
})";

mlir::FailureOr<plan::Plan> compileForCpu(mlir::MLIRContext &context, const std::string &text,
                                          std::string &diagnosticsText) {
  DiagnosticCollector diagnostics(context);
  mlir::OwningOpRef<mlir::ModuleOp> module = parseModule(text, context);
  if (!module)
    return mlir::failure();
  codegen::CodegenOptions options;
  options.targets = {plan::TARGET_CPU};
  mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(*module, options);
  diagnosticsText = diagnostics.text();
  return plan;
}

HostTensor filled(std::vector<int64_t> shape, float scale) {
  HostTensor tensor(DType::kF32, std::move(shape));
  std::span<float> values = tensor.f32();
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = scale * static_cast<float>(static_cast<int64_t>((i * 7919) % 201) - 100) / 100.0f;
  return tensor;
}

std::map<std::string, HostTensor, std::less<>> inputs() {
  return {{"x", filled({37, 29}, 1.0f)}, {"a", filled({5000}, 2.0f)}, {"b", filled({5000}, 0.5f)}};
}

bool sameBytes(const HostTensor &a, const HostTensor &b) {
  return a.bytes().size() == b.bytes().size() &&
         std::memcmp(a.bytes().data(), b.bytes().data(), a.bytes().size()) == 0;
}

TEST(CpuPlan, CarriesAnImagePerIsaAndAnEntryPerKernel) {
  auto context = makeContext();
  std::string diagnostics;
  mlir::FailureOr<plan::Plan> plan = compileForCpu(*context, kModule, diagnostics);
  ASSERT_TRUE(mlir::succeeded(plan)) << diagnostics;
  EXPECT_TRUE(plan::validatePlan(*plan).ok()) << plan::validatePlan(*plan);
  ASSERT_EQ(plan->metadata().targets_size(), 1);
  EXPECT_EQ(plan->metadata().targets(0), plan::TARGET_CPU);
  ASSERT_EQ(plan->cpu_images_size(), 3);
  std::vector<std::string> isas;
  for (const plan::CpuImage &image : plan->cpu_images()) {
    isas.push_back(image.isa());
    EXPECT_EQ(image.sha256().size(), 32u);
    EXPECT_EQ(image.code().substr(0, 4), "\x7f"
                                         "ELF");
  }
  EXPECT_EQ(isas, (std::vector<std::string>{"aarch64", "x86-64-v3", "x86-64-v4"}));
  ASSERT_EQ(plan->kernels_size(), 2);
  for (const plan::Kernel &kernel : plan->kernels()) {
    EXPECT_EQ(kernel.cpu_entries_size(), 3) << kernel.name();
    EXPECT_TRUE(kernel.spirv().empty()) << kernel.name();
    EXPECT_EQ(kernel.ptx_code_size(), 0) << kernel.name();
    if (kernel.kind() == "matmul")
      EXPECT_EQ(kernel.cpu_entries(0).tile_count(), 2u)
          << "x86-64-v3: one tile per 16-column panel of the 21 columns";
  }
}

TEST(CpuPlan, ImportThenSerializeGivesTheSameBytes) {
  auto context = makeContext();
  context->loadDialect<exec::ExecDialect>();
  std::string text;
  mlir::FailureOr<plan::Plan> plan = compileForCpu(*context, kModule, text);
  ASSERT_TRUE(mlir::succeeded(plan)) << text;
  DiagnosticCollector diagnostics(*context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(mlir::UnknownLoc::get(context.get()));
  mlir::FailureOr<exec::PlanOp> imported = exec::importPlan(*plan, *module);
  ASSERT_TRUE(mlir::succeeded(imported)) << diagnostics.text();
  mlir::FailureOr<plan::Plan> again = exec::serializePlan(*imported, plan->graph_module());
  ASSERT_TRUE(mlir::succeeded(again)) << diagnostics.text();
  EXPECT_TRUE(plan::serializePlan(*again) == plan::serializePlan(*plan));
}

TEST(CpuPlan, RunsOnTheCpuDeviceBitwiseOnOneAndTwoThreadsAsTheReference) {
  auto context = makeContext();
  std::string text;
  mlir::FailureOr<plan::Plan> plan = compileForCpu(*context, kModule, text);
  ASSERT_TRUE(mlir::succeeded(plan)) << text;
  auto reference = reference::createSession(*plan);
  ASSERT_TRUE(reference.ok()) << reference.status();
  std::vector<std::unique_ptr<session::Session>> sessions;
  for (uint32_t threads : {1u, 2u}) {
    cpu::SessionOptions options;
    options.threads = threads;
    auto session = cpu::createSession(*plan, options);
    ASSERT_TRUE(session.ok()) << session.status();
    sessions.push_back(*std::move(session));
  }
  for (int step = 0; step < 2; ++step) {
    ASSERT_TRUE((*reference)->step(inputs()).ok());
    for (auto &session : sessions)
      ASSERT_TRUE(session->step(inputs()).ok());
    for (const char *name : {"y", "z"}) {
      auto expected = (*reference)->output(name);
      ASSERT_TRUE(expected.ok()) << expected.status();
      auto one = sessions[0]->output(name), two = sessions[1]->output(name);
      ASSERT_TRUE(one.ok() && two.ok()) << one.status() << two.status();
      EXPECT_TRUE(sameBytes(*one, *two)) << name << " differs between 1 and 2 threads";
      ASSERT_EQ(one->numElements(), expected->numElements());
      for (int64_t i = 0; i < one->numElements(); ++i)
        ASSERT_NEAR(one->at(i), expected->at(i), 1e-5 * (1 + std::abs(expected->at(i))))
            << name << "[" << i << "] at step " << step;
    }
  }
}

TEST(CpuPlan, ReductionsRunOnTheCpuDeviceAsOnTheReference) {
  auto context = makeContext();
  std::string text;
  mlir::FailureOr<plan::Plan> plan = compileForCpu(*context, R"(module @r {
  func.func @step() {
    %x = graph.input "x" : tensor<37x29xf32>
    %rows = graph.reduce_sum %x [1] : tensor<37x29xf32> -> tensor<37xf32>
    %columns = graph.reduce_sum %x [0] : tensor<37x29xf32> -> tensor<29xf32>
    graph.output "rows", %rows : tensor<37xf32>
    graph.output "columns", %columns : tensor<29xf32>
    return
  }
})",
                                                   text);
  ASSERT_TRUE(mlir::succeeded(plan)) << text;
  auto reference = reference::createSession(*plan);
  ASSERT_TRUE(reference.ok()) << reference.status();
  std::map<std::string, HostTensor, std::less<>> x = {{"x", filled({37, 29}, 1.0f)}};
  ASSERT_TRUE((*reference)->step(x).ok());
  std::optional<HostTensor> first;
  for (uint32_t threads : {1u, 3u}) {
    cpu::SessionOptions options;
    options.threads = threads;
    auto session = cpu::createSession(*plan, options);
    ASSERT_TRUE(session.ok()) << session.status();
    ASSERT_TRUE((*session)->step(x).ok());
    for (const char *name : {"rows", "columns"}) {
      auto expected = (*reference)->output(name), actual = (*session)->output(name);
      ASSERT_TRUE(expected.ok() && actual.ok()) << expected.status() << actual.status();
      ASSERT_EQ(actual->numElements(), expected->numElements());
      for (int64_t i = 0; i < actual->numElements(); ++i)
        EXPECT_NEAR(actual->at(i), expected->at(i), 1e-5 * (1 + std::abs(expected->at(i))))
            << name << "[" << i << "] on " << threads << " threads";
    }
    auto rows = (*session)->output("rows");
    ASSERT_TRUE(rows.ok());
    if (first)
      EXPECT_TRUE(sameBytes(*first, *rows)) << "the row sums differ between 1 and 3 threads";
    else
      first = *rows;
  }
}

} // namespace
} // namespace kiln::codegen_test
