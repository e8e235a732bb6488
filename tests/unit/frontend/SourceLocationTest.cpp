//===- SourceLocationTest.cpp - Errors and ops point at the user's line ---===//
//
// The builder's promise: a shape mistake in a model file is reported with
// that file's name and the line of the offending call, with the shared
// shape rule's precise message, and every op carries the user's line (inside
// a NameLoc with the layer's name when a layer emitted it). The expected
// lines are computed with __LINE__ next to the calls.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtils.h"

#include "absl/strings/str_cat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln {
namespace {

using kiln::testing::fileLineOf;
using kiln::testing::opsOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;

constexpr const char *kThisFile = "SourceLocationTest.cpp";

TEST(SourceLocationTest, AMatmulShapeErrorNamesThisFileAndLine) {
  Builder b("shape_error");
  Tensor lhs = b.input("lhs", {4, 3});
  Tensor rhs = b.input("rhs", {5, 2});
  const int expectedLine = __LINE__ + 1;
  Tensor product = matmul(lhs, rhs);
  EXPECT_FALSE(product.ok());

  auto module = b.build();
  ASSERT_FALSE(module.ok());
  EXPECT_EQ(module.status().code(), absl::StatusCode::kInvalidArgument);
  std::string message(module.status().message());
  EXPECT_THAT(message, HasSubstr(absl::StrCat(kThisFile, ":", expectedLine, ": ")));
  EXPECT_THAT(message, HasSubstr(absl::StrCat(__FILE__, ":", expectedLine, ": ")));
  EXPECT_THAT(message, HasSubstr("lhs has 3 columns but rhs has 5 rows"));
  EXPECT_THAT(message, EndsWith("graph.matmul: lhs has 3 columns but rhs has 5 rows"));
}

TEST(SourceLocationTest, TheFirstOfSeveralErrorsIsReported) {
  Builder b;
  Tensor x = b.input("x", {4, 3});
  const int firstLine = __LINE__ + 1;
  Tensor bad = reshape(x, {5});
  Tensor worse = matmul(x, x);
  EXPECT_FALSE(bad.ok() || worse.ok());
  EXPECT_THAT(b.status().message(), HasSubstr(absl::StrCat(kThisFile, ":", firstLine, ": ")));
  EXPECT_THAT(b.status().message(), HasSubstr("graph.reshape"));
}

TEST(SourceLocationTest, OpsCarryTheLineOfTheCall) {
  Builder b;
  Tensor x = b.input("x", {2, 2});
  const int reluLine = __LINE__ + 1;
  Tensor y = relu(x);
  auto loc = fileLineOf(y.value().getDefiningOp()->getLoc());
  ASSERT_TRUE(loc);
  EXPECT_THAT(loc.getFilename().str(), EndsWith(kThisFile));
  EXPECT_EQ(loc.getLine(), static_cast<unsigned>(reluLine));
}

TEST(SourceLocationTest, OperatorsCarryTheLineOfTheExpression) {
  Builder b;
  Tensor x = b.input("x", {2});
  Tensor v = b.input("v", {3, 2});
  const int sumLine = __LINE__ + 1;
  Tensor sum = x + v;
  ASSERT_TRUE(sum.ok()) << b.status();
  // The add and the broadcast it needed both point at the expression.
  auto add = sum.value().getDefiningOp<graph::AddOp>();
  EXPECT_EQ(fileLineOf(add->getLoc()).getLine(), static_cast<unsigned>(sumLine));
  auto broadcast = add.getLhs().getDefiningOp<graph::BroadcastOp>();
  ASSERT_TRUE(broadcast);
  EXPECT_EQ(fileLineOf(broadcast->getLoc()).getLine(), static_cast<unsigned>(sumLine));

  const int badLine = __LINE__ + 1;
  Tensor bad = v * b.input("w", {4});
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(b.status().message(), HasSubstr(absl::StrCat(kThisFile, ":", badLine, ": ")));
}

TEST(SourceLocationTest, LayerOpsCarryTheCallersLineInsideANameLoc) {
  Builder b;
  Tensor x = b.input("x", {8, 4});
  Linear fc(4, 3);
  const int callLine = __LINE__ + 1;
  Tensor y = fc(x);
  ASSERT_TRUE(y.ok()) << b.status();

  auto product = y.value().getDefiningOp<graph::AddOp>().getLhs().getDefiningOp<graph::MatmulOp>();
  ASSERT_TRUE(product);
  auto named = llvm::dyn_cast<mlir::NameLoc>(product->getLoc());
  ASSERT_TRUE(named);
  EXPECT_EQ(named.getName(), "fc1");
  auto loc = fileLineOf(named);
  EXPECT_THAT(loc.getFilename().str(), EndsWith(kThisFile));
  EXPECT_EQ(loc.getLine(), static_cast<unsigned>(callLine));

  // The variables the layer created point at the same call.
  for (graph::VariableOp variable :
       opsOf<graph::VariableOp>(y.value().getParentRegion()->getParentOfType<mlir::ModuleOp>())) {
    EXPECT_EQ(fileLineOf(variable->getLoc()).getLine(), static_cast<unsigned>(callLine));
  }
}

TEST(SourceLocationTest, ALayerShapeErrorNamesTheLayerAndTheCallersLine) {
  Builder b;
  Tensor x = b.input("x", {8, 5});
  Sequential model{Linear(5, 4), Relu(), Linear(3, 2)};
  const int callLine = __LINE__ + 1;
  Tensor y = model(x);
  EXPECT_FALSE(y.ok());
  std::string message(b.status().message());
  EXPECT_THAT(message, HasSubstr(absl::StrCat(kThisFile, ":", callLine, ": in fc2: ")));
  EXPECT_THAT(message, HasSubstr("Linear expects inputs [..., 3] but got tensor<8x4xf32>"));
}

// A loss of the wrong shape is reported where the loss was made (the user's line), and the
// message also names the build() call.
TEST(SourceLocationTest, ANonScalarLossPointsWhereTheLossWasMade) {
  Builder b;
  const int lossLine = __LINE__ + 1;
  Tensor x = b.input("x", {4});
  const int buildLine = __LINE__ + 1;
  auto module = b.build(TrainingSpec{.loss = x});
  ASSERT_FALSE(module.ok());
  EXPECT_THAT(module.status().message(), HasSubstr(absl::StrCat(kThisFile, ":", lossLine,
                                                                ": TrainingSpec.loss must be a "
                                                                "scalar f32 tensor")));
  EXPECT_THAT(module.status().message(), HasSubstr("(build() was called at "));
  EXPECT_THAT(module.status().message(), HasSubstr(absl::StrCat(kThisFile, ":", buildLine, ")")));
}

} // namespace
} // namespace kiln
