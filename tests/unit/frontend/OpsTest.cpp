//===- OpsTest.cpp - Tensor ops and numpy-style broadcasting --------------===//
//
// Each free op creates the right graph op with the right type; binary ops
// insert graph.broadcast numpy-style; scalars become constants; operators
// map to the same ops; bad shapes become builder errors with the shared
// shape-rule messages.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtils.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln {
namespace {

using kiln::testing::opsOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

/// The op that defines `t`, cast to `OpTy` (null when it is another op).
template <typename OpTy> OpTy definingOp(Tensor t) { return t.value().getDefiningOp<OpTy>(); }

TEST(OpsTest, EqualShapesNeedNoBroadcast) {
  Builder b;
  Tensor x = b.input("x", {4, 3});
  Tensor y = add(x, x);
  ASSERT_TRUE(y.ok());
  auto op = definingOp<graph::AddOp>(y);
  ASSERT_TRUE(op);
  EXPECT_EQ(op.getLhs(), x.value());
  EXPECT_EQ(op.getRhs(), x.value());
}

TEST(OpsTest, ABiasBroadcastsAlongTheBatch) {
  Builder b;
  Tensor x = b.input("x", {4, 10});
  Tensor bias = b.input("bias", {10});
  Tensor y = add(x, bias);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(4, 10));
  auto op = definingOp<graph::AddOp>(y);
  ASSERT_TRUE(op);
  EXPECT_EQ(op.getLhs(), x.value());
  auto broadcast = op.getRhs().getDefiningOp<graph::BroadcastOp>();
  ASSERT_TRUE(broadcast);
  EXPECT_EQ(broadcast.getOperand(), bias.value());
  EXPECT_THAT(broadcast.getDims(), ElementsAre(1));
  EXPECT_THAT(broadcast.getType().getShape(), ElementsAre(4, 10));
}

TEST(OpsTest, BothOperandsBroadcastToTheirCommonShape) {
  Builder b;
  Tensor column = b.input("column", {4, 1});
  Tensor row = b.input("row", {1, 3});
  Tensor y = mul(column, row);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(4, 3));
  auto op = definingOp<graph::MulOp>(y);
  auto lhs = op.getLhs().getDefiningOp<graph::BroadcastOp>();
  auto rhs = op.getRhs().getDefiningOp<graph::BroadcastOp>();
  ASSERT_TRUE(lhs && rhs);
  EXPECT_THAT(lhs.getDims(), ElementsAre(0, 1));
  EXPECT_THAT(rhs.getDims(), ElementsAre(0, 1));
}

TEST(OpsTest, AScalarTensorBroadcastsToAnyShape) {
  Builder b;
  Tensor x = b.input("x", {2, 3, 4});
  Tensor scale = b.input("scale", {});
  Tensor y = div(x, scale);
  ASSERT_TRUE(y.ok()) << b.status();
  auto broadcast = definingOp<graph::DivOp>(y).getRhs().getDefiningOp<graph::BroadcastOp>();
  ASSERT_TRUE(broadcast);
  EXPECT_TRUE(broadcast.getDims().empty());
}

TEST(OpsTest, IncompatibleShapesAreErrorsNamingTheDimension) {
  Builder b;
  Tensor x = b.input("x", {4, 3});
  Tensor y = b.input("y", {5});
  EXPECT_FALSE(sub(x, y).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr("graph.sub: dimension 0 of tensor<5xf32> is 5 but must be 3 or 1"));
}

TEST(OpsTest, IntegerOperandsOfFloatOpsAreErrors) {
  Builder b;
  Tensor x = b.input("x", {4});
  Tensor labels = b.input("labels", {4}, DType::kI32);
  EXPECT_FALSE(add(x, labels).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr("graph.add: rhs must have f32 elements, got tensor<4xi32>"));
}

TEST(OpsTest, ScalarsBecomeConstantsOfTheTensorsShape) {
  Builder b;
  Tensor x = b.input("x", {2, 3});
  Tensor y = sub(1.0f, x);
  ASSERT_TRUE(y.ok()) << b.status();
  auto op = definingOp<graph::SubOp>(y);
  auto constant = op.getLhs().getDefiningOp<graph::ConstantOp>();
  ASSERT_TRUE(constant);
  EXPECT_EQ(constant.getType(), x.type());
  EXPECT_EQ(llvm::cast<mlir::DenseElementsAttr>(constant.getValue()).getSplatValue<float>(), 1.0f);
  EXPECT_EQ(op.getRhs(), x.value());
}

TEST(OpsTest, OperatorsEmitTheElementwiseOps) {
  Builder b;
  Tensor x = b.input("x", {2});
  Tensor y = b.input("y", {2});
  EXPECT_TRUE(definingOp<graph::AddOp>(x + y));
  EXPECT_TRUE(definingOp<graph::SubOp>(x - y));
  EXPECT_TRUE(definingOp<graph::MulOp>(x * y));
  EXPECT_TRUE(definingOp<graph::DivOp>(x / y));
  EXPECT_TRUE(definingOp<graph::NegOp>(-x));
  EXPECT_TRUE(definingOp<graph::MulOp>(2.0f * x));
  EXPECT_TRUE(definingOp<graph::AddOp>(x + 1.0f));
  EXPECT_TRUE(definingOp<graph::DivOp>(1.0f / x));
  EXPECT_TRUE(b.ok()) << b.status();
}

TEST(OpsTest, UnaryOpsKeepTheType) {
  Builder b;
  Tensor x = b.input("x", {3, 2});
  EXPECT_TRUE(definingOp<graph::ExpOp>(exp(x)));
  EXPECT_TRUE(definingOp<graph::LogOp>(log(x)));
  EXPECT_TRUE(definingOp<graph::SqrtOp>(sqrt(x)));
  EXPECT_TRUE(definingOp<graph::ReluOp>(relu(x)));
  EXPECT_TRUE(definingOp<graph::TanhOp>(tanh(x)));
  EXPECT_TRUE(definingOp<graph::SigmoidOp>(sigmoid(x)));
  EXPECT_EQ(sigmoid(x).type(), x.type());
  EXPECT_TRUE(definingOp<graph::MaxOp>(maximum(x, 0.0f)));
}

TEST(OpsTest, AttributeOpsCarryTheirArguments) {
  Builder b;
  Tensor x = b.input("x", {3, 2});
  auto gelu = definingOp<graph::GeluOp>(kiln::gelu(x, graph::GeluApproximation::tanh));
  ASSERT_TRUE(gelu);
  EXPECT_EQ(gelu.getApproximate(), graph::GeluApproximation::tanh);
  EXPECT_EQ(definingOp<graph::PowOp>(pow(x, 3.0)).getExponent().convertToDouble(), 3.0);
  auto clamp = definingOp<graph::ClampOp>(kiln::clamp(x, -1.0, 2.0));
  ASSERT_TRUE(clamp);
  EXPECT_EQ(clamp.getMin().convertToDouble(), -1.0);
  EXPECT_EQ(clamp.getMax().convertToDouble(), 2.0);
  EXPECT_EQ(definingOp<graph::LeakyReluOp>(leakyRelu(x)).getNegativeSlope().convertToDouble(),
            0.01);
  auto softplus = definingOp<graph::SoftplusOp>(kiln::softplus(x));
  ASSERT_TRUE(softplus);
  EXPECT_EQ(softplus.getBeta().convertToDouble(), 1.0);
  EXPECT_EQ(softplus.getThreshold().convertToDouble(), 20.0);
  EXPECT_TRUE(definingOp<graph::MinimumOp>(minimum(x, 0.0f)));
  EXPECT_TRUE(b.ok()) << b.status();
}

TEST(OpsTest, ClampWithMinAboveMaxIsAnErrorNamingBoth) {
  Builder b;
  Tensor x = b.input("x", {3});
  EXPECT_FALSE(kiln::clamp(x, 2.0, 1.0).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("graph.clamp: min (2) must be <= max (1)"));
}

TEST(OpsTest, SoftplusWithZeroBetaIsAnError) {
  Builder b;
  Tensor x = b.input("x", {3});
  EXPECT_FALSE(kiln::softplus(x, 0.0).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("graph.softplus: beta (0) must be finite"));
}

TEST(OpsTest, CompareGivesAMaskAndSelectUsesIt) {
  Builder b;
  Tensor x = b.input("x", {4, 3});
  Tensor threshold = b.input("threshold", {3});
  Tensor mask = compare(x, graph::ComparePredicate::gt, threshold);
  ASSERT_TRUE(mask.ok()) << b.status();
  EXPECT_EQ(mask.dtype(), DType::kI1);
  EXPECT_THAT(mask.shape(), ElementsAre(4, 3));
  Tensor zeros = b.constant({}, 0.0f);
  Tensor y = select(mask, x, zeros);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(4, 3));
  EXPECT_TRUE(definingOp<graph::SelectOp>(y).getOnFalse().getDefiningOp<graph::BroadcastOp>());
}

TEST(OpsTest, ReductionsAcceptNegativeAndUnsortedAxes) {
  Builder b;
  Tensor x = b.input("x", {2, 3, 4});
  Tensor s = reduceSum(x, {-1, 0});
  ASSERT_TRUE(s.ok()) << b.status();
  EXPECT_THAT(s.shape(), ElementsAre(3));
  EXPECT_THAT(definingOp<graph::ReduceSumOp>(s).getAxes(), ElementsAre(0, 2));
  EXPECT_EQ(reduceMean(x).rank(), 0);
  EXPECT_THAT(reduceMax(x, {1}).shape(), ElementsAre(2, 4));
  EXPECT_FALSE(reduceSum(x, {3}).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("axis 3 is out of range for rank 3"));
}

TEST(OpsTest, ReshapeInfersOneDimension) {
  Builder b;
  Tensor x = b.input("x", {2, 3, 4});
  EXPECT_THAT(reshape(x, {-1, 4}).shape(), ElementsAre(6, 4));
  EXPECT_THAT(reshape(x, {24}).shape(), ElementsAre(24));
  EXPECT_FALSE(reshape(x, {5, -1}).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("cannot reshape tensor<2x3x4xf32> to [5, -1]"));
}

TEST(OpsTest, ReshapeToADifferentElementCountIsAnError) {
  Builder b;
  Tensor x = b.input("x", {2, 3});
  EXPECT_FALSE(reshape(x, {7}).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("has 6 elements but tensor<7xf32> has 7"));
}

TEST(OpsTest, TransposeAndBroadcasts) {
  Builder b;
  Tensor x = b.input("x", {2, 3});
  EXPECT_THAT(transpose(x, {1, 0}).shape(), ElementsAre(3, 2));
  EXPECT_THAT(broadcastTo(x, {5, 2, 3}).shape(), ElementsAre(5, 2, 3));
  EXPECT_EQ(broadcastTo(x, {2, 3}).value(), x.value());
  Tensor v = b.input("v", {3});
  Tensor columns = broadcastInDim(v, {0}, {3, 2});
  EXPECT_THAT(columns.shape(), ElementsAre(3, 2));
  EXPECT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(transpose(x, {0, 0}).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("perm entry 0 is out of range or repeated"));
}

TEST(OpsTest, MatmulTransposesOnRequest) {
  Builder b;
  Tensor x = b.input("x", {8, 5});
  Tensor w = b.input("w", {3, 5});
  Tensor y = matmul(x, w, {.transposeRhs = true});
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(8, 3));
  auto op = definingOp<graph::MatmulOp>(y);
  EXPECT_TRUE(op.getTransposeRhs());
  EXPECT_FALSE(op.getTransposeLhs());
  EXPECT_THAT(matmul(x, x, {.transposeLhs = true}).shape(), ElementsAre(5, 5));
}

TEST(OpsTest, SoftmaxDefaultsToTheLastAxis) {
  Builder b;
  Tensor x = b.input("x", {4, 10});
  EXPECT_EQ(definingOp<graph::SoftmaxOp>(softmax(x)).getAxis(), 1u);
  EXPECT_EQ(definingOp<graph::LogSoftmaxOp>(logSoftmax(x, 0)).getAxis(), 0u);
  EXPECT_FALSE(softmax(x, 2).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("axis 2 is out of range for rank 2"));
}

TEST(OpsTest, OneHotAddsAClassDimension) {
  Builder b;
  Tensor labels = b.input("labels", {6}, DType::kI32);
  Tensor rows = oneHot(labels, 10);
  ASSERT_TRUE(rows.ok()) << b.status();
  EXPECT_THAT(rows.shape(), ElementsAre(6, 10));
  EXPECT_EQ(rows.dtype(), DType::kF32);
}

TEST(OpsTest, LossesReduceToAScalar) {
  Builder b;
  Tensor logits = b.input("logits", {4, 10});
  Tensor labels = b.input("labels", {4}, DType::kI32);
  Tensor loss = softmaxCrossEntropy(logits, labels);
  ASSERT_TRUE(loss.ok()) << b.status();
  EXPECT_EQ(loss.rank(), 0);
  auto mean = definingOp<graph::ReduceMeanOp>(loss);
  ASSERT_TRUE(mean);
  EXPECT_THAT(mean.getAxes(), ElementsAre(0));
  EXPECT_TRUE(mean.getOperand().getDefiningOp<graph::SoftmaxCrossEntropyOp>());

  Tensor target = b.input("target", {4, 10});
  Tensor squared = mse(logits, target);
  EXPECT_EQ(squared.rank(), 0);
  EXPECT_TRUE(definingOp<graph::MseOp>(squared));
}

TEST(OpsTest, CrossEntropyWithMismatchedBatchesIsAnError) {
  Builder b;
  Tensor logits = b.input("logits", {4, 10});
  Tensor labels = b.input("labels", {5}, DType::kI32);
  EXPECT_FALSE(softmaxCrossEntropy(logits, labels).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("logits have batch 4 but labels have batch 5"));
}

} // namespace
} // namespace kiln
