//===- ElementwiseTableTest.cpp - The reference device's elementwise table -===//
//
// The oracle never guesses: an elementwise op without a reference loop is an
// error naming the op and the file to add it to, and every elementwise op the
// graph dialect registers (but compare and select, which have their own
// instructions) has a loop.
//
//===----------------------------------------------------------------------===//

#include "../../../runtime/reference/ElementwiseKernels.h"

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/IR/MLIRContext.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln::reference {
namespace {

using ::testing::HasSubstr;

TEST(ElementwiseTableTest, UnknownOpIsAnErrorNamingTheOpAndTheTable) {
  absl::Status status = findElementwiseEntry("graph.not_an_op");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("'graph.not_an_op'"));
  EXPECT_THAT(status.message(), HasSubstr("runtime/reference/ElementwiseKernels.cpp"));
}

TEST(ElementwiseTableTest, EveryElementwiseOpOfTheDialectHasALoop) {
  mlir::MLIRContext context;
  context.loadDialect<graph::GraphDialect>();
  int checked = 0;
  for (mlir::RegisteredOperationName name : context.getRegisteredOperations()) {
    if (name.getDialectNamespace() != "graph" ||
        !name.hasInterface<graph::ElementwiseOpInterface>() ||
        name.getStringRef() == graph::CompareOp::getOperationName() ||
        name.getStringRef() == graph::SelectOp::getOperationName())
      continue;
    EXPECT_TRUE(findElementwiseEntry(name.getStringRef().str()).ok()) << name.getStringRef().str();
    ++checked;
  }
  EXPECT_GE(checked, 24);
}

} // namespace
} // namespace kiln::reference
