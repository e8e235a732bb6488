//===- EmbeddingTest.cpp - gather, gatherOutOfRange and Embedding --------===//
//
// gather builds graph.gather with the table's axis replaced by the indices'
// dimensions (negative axes from the end); gatherOutOfRange is a scalar sum
// of 1 - gather(ones); Embedding declares "<name>.weight" [num, dim] with
// N(0, 0.02) once and gathers its rows. Indices that are not i32 and axes out
// of range are builder errors at the user's file:line.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtils.h"

#include "kiln/Embedding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(EmbeddingTest, GatherReplacesTheAxisByTheIndicesDimensions) {
  Builder b;
  Tensor table = b.input("table", {2, 7, 3});
  Tensor indices = b.input("indices", {4, 5}, DType::kI32);
  Tensor rows = gather(table, indices, 1);
  ASSERT_TRUE(rows.ok()) << b.status();
  EXPECT_THAT(rows.shape(), ElementsAre(2, 4, 5, 3));
  auto op = rows.value().getDefiningOp<graph::GatherOp>();
  ASSERT_TRUE(op);
  EXPECT_EQ(op.getAxis(), 1u);
  Tensor last = gather(table, indices, -1);
  ASSERT_TRUE(last.ok()) << b.status();
  EXPECT_THAT(last.shape(), ElementsAre(2, 7, 4, 5));
  Tensor scalar = gather(table, b.input("one", {}, DType::kI32));
  ASSERT_TRUE(scalar.ok()) << b.status();
  EXPECT_THAT(scalar.shape(), ElementsAre(7, 3));
}

TEST(EmbeddingTest, GatherNeedsI32Indices) {
  Builder b;
  EXPECT_FALSE(gather(b.input("table", {5, 3}), b.input("indices", {4})).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("EmbeddingTest.cpp:"));
  EXPECT_THAT(b.status().message(),
              HasSubstr("graph.gather: indices must be a static-shaped tensor of i32, got "
                        "tensor<4xf32>"));
}

TEST(EmbeddingTest, GatherAxisMustBeInRange) {
  Builder b;
  EXPECT_FALSE(gather(b.input("table", {5, 3}), b.input("indices", {4}, DType::kI32), 2).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("EmbeddingTest.cpp:"));
  EXPECT_THAT(b.status().message(),
              HasSubstr("gather: axis 2 is out of range for the table tensor<5x3xf32> of rank 2"));
}

TEST(EmbeddingTest, OutOfRangeCountIsAScalarSumOfMissedReads) {
  Builder b;
  Tensor indices = b.input("indices", {3, 4}, DType::kI32);
  Tensor count = gatherOutOfRange(indices, 10);
  ASSERT_TRUE(count.ok()) << b.status();
  EXPECT_TRUE(count.shape().empty());
  auto sum = count.value().getDefiningOp<graph::ReduceSumOp>();
  ASSERT_TRUE(sum);
  auto missed = sum.getOperand().getDefiningOp<graph::SubOp>();
  ASSERT_TRUE(missed);
  auto read = missed.getRhs().getDefiningOp<graph::GatherOp>();
  ASSERT_TRUE(read);
  EXPECT_THAT(read.getTable().getType().getShape(), ElementsAre(10));
  EXPECT_EQ(read.getIndices(), indices.value());

  EXPECT_FALSE(gatherOutOfRange(b.input("floats", {3}), 10).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("gatherOutOfRange: indices must be i32"));
}

TEST(EmbeddingTest, EmbeddingDeclaresItsWeightOnceAndGathersRows) {
  Builder b;
  Embedding wte(256, 16);
  wte.setName("wte");
  Tensor tokens = b.input("tokens", {2, 8}, DType::kI32);
  Tensor x = wte(tokens);
  ASSERT_TRUE(x.ok()) << b.status();
  EXPECT_THAT(x.shape(), ElementsAre(2, 8, 16));
  Tensor again = wte(tokens);
  ASSERT_TRUE(again.ok()) << b.status();
  EXPECT_THAT(b.parameterNames(), ElementsAre("wte.weight"));
  EXPECT_THAT(wte.weight().shape(), ElementsAre(256, 16));
  b.output("x", add(x, again));
  absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>> module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  std::vector<graph::VariableOp> variables = testing::opsOf<graph::VariableOp>(**module);
  ASSERT_EQ(variables.size(), 1u);
  graph::InitializerAttr init = variables[0].getInit();
  EXPECT_EQ(init.getDistribution(), graph::Distribution::normal);
  EXPECT_DOUBLE_EQ(init.getFirst(), 0.0);
  EXPECT_DOUBLE_EQ(init.getSecond(), 0.02);
  EXPECT_EQ(testing::opsOf<graph::GatherOp>(**module).size(), 2u);
}

TEST(EmbeddingTest, EmbeddingNeedsI32Indices) {
  Builder b;
  Embedding embedding(10, 4);
  EXPECT_FALSE(embedding(b.input("x", {3})).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("EmbeddingTest.cpp:"));
  EXPECT_THAT(b.status().message(), HasSubstr("Embedding expects i32 indices"));
}

} // namespace
} // namespace kiln
