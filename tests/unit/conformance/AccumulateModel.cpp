//===- AccumulateModel.cpp - The model the conformance suite runs ---------===//

#include "AccumulateModel.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/runtime/Initializer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <span>

namespace kiln::conformance {

std::vector<float> accumulateTable(int64_t n) {
  std::vector<float> table(n);
  for (int64_t i = 0; i < n; ++i)
    table[i] = 1000.0f - static_cast<float>(i);
  return table;
}

std::string accumulateModuleText(int64_t n) {
  std::string text = R"(module @accumulate {
  graph.variable @acc : tensor<Nxf32> = #graph.init<uniform(-1.0, 1.0), seed = 7, stream = 3>
  func.func @step() {
    %a = graph.input "a" : tensor<Nxf32>
    %b = graph.input "b" {default_value = dense<10.0> : tensor<Nxf32>} : tensor<Nxf32>
    %acc = graph.read @acc : tensor<Nxf32>
    %sum = graph.add %a, %b : tensor<Nxf32>
    %total = graph.add %sum, %acc : tensor<Nxf32>
    %half = graph.constant dense<0.5> : tensor<Nxf32>
    %out = graph.mul %total, %half : tensor<Nxf32>
    %table = graph.constant dense<[TABLE]> : tensor<Nxf32>
    %shifted = graph.add %a, %table : tensor<Nxf32>
    graph.output "sum", %sum : tensor<Nxf32>
    graph.output "out", %out : tensor<Nxf32>
    graph.output "shifted", %shifted : tensor<Nxf32>
    graph.assign @acc, %out : tensor<Nxf32>
    return
  }
  func.func @eval() {
    %a = graph.input "a" : tensor<Nxf32>
    %acc = graph.read @acc : tensor<Nxf32>
    %sum = graph.add %a, %acc : tensor<Nxf32>
    %half = graph.constant dense<0.5> : tensor<Nxf32>
    %out = graph.mul %sum, %half : tensor<Nxf32>
    graph.output "sum", %sum : tensor<Nxf32>
    graph.output "out", %out : tensor<Nxf32>
    return
  }
  func.func @probe() {
    %acc = graph.read @acc : tensor<Nxf32>
    %two = graph.constant dense<2.0> : tensor<Nxf32>
    %twice = graph.mul %acc, %two : tensor<Nxf32>
    graph.output "twice", %twice : tensor<Nxf32>
    return
  }
}
)";
  std::vector<std::string> table;
  for (float value : accumulateTable(n))
    table.push_back(absl::StrFormat("%.1f", value));
  return absl::StrReplaceAll(
      text, {{"tensor<N", absl::StrCat("tensor<", n)}, {"TABLE", absl::StrJoin(table, ", ")}});
}

absl::StatusOr<plan::Plan> compileAccumulatePlan(int64_t n) {
  mlir::MLIRContext context;
  context.loadDialect<graph::GraphDialect, mlir::func::FuncDialect>();
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diagnostic) {
    absl::StrAppend(&diagnostics, diagnostic.str(), "\n");
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(accumulateModuleText(n), &context, "accumulate");
  if (!module)
    return absl::InvalidArgumentError("the accumulate module does not parse:\n" + diagnostics);
  mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(*module);
  if (mlir::failed(plan))
    return absl::InvalidArgumentError("codegen refused the accumulate module:\n" + diagnostics);
  return *std::move(plan);
}

HostModel::HostModel(int64_t n) : n(n), acc(n) {
  fillInitializer(InitKind::kUniform, -1, 1, 7, 3, std::span<float>(acc));
}

void HostModel::step(const std::vector<float> &a, const std::vector<float> &b) {
  std::vector<float> table = accumulateTable(n);
  sum.resize(n);
  out.resize(n);
  shifted.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    sum[i] = a[i] + b[i];
    out[i] = (sum[i] + acc[i]) * 0.5f;
    shifted[i] = a[i] + table[i];
  }
  acc = out;
}

std::vector<float> HostModel::evalSum(const std::vector<float> &a) const {
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i)
    values[i] = a[i] + acc[i];
  return values;
}

std::vector<float> HostModel::evalOut(const std::vector<float> &a) const {
  std::vector<float> values = evalSum(a);
  for (float &value : values)
    value *= 0.5f;
  return values;
}

std::vector<float> HostModel::twice() const {
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i)
    values[i] = 2.0f * acc[i];
  return values;
}

std::vector<float> inputA(int64_t n, int step) {
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i)
    values[i] = 0.25f * static_cast<float>(i) - 3.0f * static_cast<float>(step);
  return values;
}

std::vector<float> defaultB(int64_t n) { return std::vector<float>(n, 10.0f); }

} // namespace kiln::conformance
