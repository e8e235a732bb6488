//===- airbench.cc - The airbench94 CIFAR-10 network with the Kiln builder -===//
//
// Builds the network of Keller Jordan's airbench94 (the CIFAR-10 speedrun that
// reaches 94% test accuracy in a few GPU seconds) and writes its training step
// as a graph-dialect module:
//
//   kiln-sample-airbench -o airbench.mlir
//   kiln compile airbench.mlir -o airbench.kplan
//   kiln train airbench.kplan --data cifar10:cifar-10-batches-bin --epochs 10
//
// images [B, 3, 32, 32] (kiln train standardizes CIFAR-10 per channel) ->
//   conv 2x2 3->24 (no padding, no bias) -> batch norm -> GELU      [B, 24, 31, 31]
//   3 blocks of widths 64, 256, 256, each
//     conv 3x3 (padding 1, no bias) -> max pool 2x2 -> batch norm -> GELU ->
//     conv 3x3 (padding 1, no bias) -> batch norm -> GELU         [B, 256, 3, 3]
//   max pool 3x3 (global) -> flatten -> linear 256->10 (no bias) -> x 1/9
// loss: mean softmax cross entropy with label smoothing 0.2; optimizer: SGD
// with Nesterov momentum 0.85.
//
// What differs from airbench94, and why:
// - Its first layer is a 2x2 conv (with bias) initialized to whiten the
//   training images' 2x2 patches (an eigendecomposition of their covariance,
//   taken before training) and frozen, followed by GELU; here it is an
//   ordinary trainable conv of the same shape with the default initializer,
//   because the module cannot see the data, followed by a batch norm, as in
//   airbench's own whitening-free baseline.
// - Its batch norms keep the scale fixed at 1 and train the shift only, and
//   its biases get a 64x learning rate; here every parameter is trained with
//   one learning rate (Kiln's optimizers have no per-parameter groups), batch
//   norm scale included.
// - Its convs start with identity (dirac) filters in their first channels;
//   here they use PyTorch's default initializer.
// - It trains batches of 1024; the default here is 512, whose largest
//   activation (512 x 64 x 31 x 31 f32, 126 MB) fits the 128 MiB a Vulkan
//   storage buffer is guaranteed to hold. At 1024 (252 MB) kiln compile
//   refuses the plan, whatever --target.
// - It sums the loss over the batch with lr 11.5 "per kilostep"; with the
//   mean loss here that is lr 1.5 * B / 1024 and weight decay 0.0153 / 11.5,
//   the defaults below. Its learning-rate schedule (a warm-up, then a linear
//   decay) is kiln train's --warmup-steps and --lr-schedule. Its Lookahead
//   (the weights pulled towards an average of their past values every few
//   steps), data augmentation (flips, 2-pixel translations) and test-time
//   augmentation are not done.
//
//===----------------------------------------------------------------------===//

#include "kiln/Frontend.h"

#include "SampleSupport.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace cl = llvm::cl;

namespace {

constexpr llvm::StringLiteral kTool = "kiln-sample-airbench";

cl::OptionCategory category("airbench options");

cl::opt<std::string> widthsOption("widths",
                                  cl::desc("The widths of the three blocks (default 64-256-256, "
                                           "airbench94's; smaller ones train faster)"),
                                  cl::value_desc("a-b-c"), cl::init("64-256-256"),
                                  cl::cat(category));
cl::opt<int64_t> batchSize("batch", cl::desc("Examples per step (static batch size; default 512)"),
                           cl::value_desc("n"), cl::init(512), cl::cat(category));
cl::opt<double> learningRate("lr",
                             cl::desc("Learning rate of the mean loss (default 1.5 * batch / "
                                      "1024, airbench94's 11.5 per kilostep)"),
                             cl::value_desc("rate"), cl::init(-1.0), cl::cat(category));
cl::opt<double> momentum("momentum", cl::desc("Nesterov momentum (default 0.85)"),
                         cl::value_desc("m"), cl::init(0.85), cl::cat(category));
cl::opt<double> weightDecay("weight-decay",
                            cl::desc("SGD weight decay (default 0.0153 / 11.5, airbench94's "
                                     "per-step decay at its learning rate)"),
                            cl::value_desc("w"), cl::init(0.0153 / 11.5), cl::cat(category));
cl::opt<double> labelSmoothing("label-smoothing",
                               cl::desc("Label smoothing of the cross entropy (default 0.2)"),
                               cl::value_desc("s"), cl::init(0.2), cl::cat(category));
cl::opt<double> batchNormMomentum(
    "bn-momentum",
    cl::desc("Batch norm running-statistics momentum in PyTorch's convention, running = (1 - m) "
             "running + m batch (default 0.4: airbench94's batchnorm_momentum 0.6 is 1 - m)"),
    cl::value_desc("m"), cl::init(0.4), cl::cat(category));
cl::opt<uint64_t> seed("seed", cl::desc("Seed of the parameters' initial values"),
                       cl::value_desc("n"), cl::init(0), cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Write the module here (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"), cl::cat(category));
cl::opt<bool> printLocations("print-locations",
                             cl::desc("Print each op's source location (this file's lines)"),
                             cl::init(false), cl::cat(category));

/// airbench94's batch norm epsilon (PyTorch's default is 1e-5).
constexpr double kBatchNormEps = 1e-12;
/// The channels of the first (whitening) conv: 2 * 3 * 2 * 2, as in airbench94.
constexpr int64_t kStemWidth = 24;
/// airbench94 scales the logits by 1/9 (its "scaling_factor").
constexpr float kLogitScale = 1.0f / 9.0f;

/// GELU (the exact, erf form, as torch.nn.GELU()), which airbench94 uses after every norm.
class Gelu : public kiln::Layer {
public:
  Gelu() : Layer("gelu") {}

protected:
  kiln::Tensor forward(kiln::Tensor input, kiln::SourceLocation loc) override {
    return kiln::gelu(input, kiln::graph::GeluApproximation::none, loc);
  }
};

/// "64-256-256" as {64, 256, 256}; std::nullopt unless three positive integers.
std::optional<std::vector<int64_t>> parseWidths(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, '-');
  std::vector<int64_t> widths;
  for (llvm::StringRef part : parts) {
    int64_t width = 0;
    if (part.getAsInteger(10, width) || width <= 0)
      return std::nullopt;
    widths.push_back(width);
  }
  if (widths.size() != 3)
    return std::nullopt;
  return widths;
}

/// airbench94's ConvGroup: conv, pool, norm, GELU, conv, norm, GELU; halves the image.
void addBlock(kiln::Sequential &net, int64_t inChannels, int64_t outChannels) {
  kiln::Conv2dOptions same{.padding = {1, 1}};
  kiln::BatchNormOptions norm{.momentum = batchNormMomentum, .eps = kBatchNormEps};
  net.add(kiln::Conv2d(inChannels, outChannels, 3, same, /*bias=*/false));
  net.add(kiln::MaxPool2d(2));
  net.add(kiln::BatchNorm2d(outChannels, norm));
  net.add(Gelu());
  net.add(kiln::Conv2d(outChannels, outChannels, 3, same, /*bias=*/false));
  net.add(kiln::BatchNorm2d(outChannels, norm));
  net.add(Gelu());
}

int fail(const llvm::Twine &message) { return kiln::samples::fail(kTool, message); }

} // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "Writes the training step of the airbench94 CIFAR-10 network as a "
                              "Kiln graph-dialect module (.mlir).\n");

  std::optional<std::vector<int64_t>> widths = parseWidths(widthsOption);
  if (!widths)
    return fail("--widths '" + widthsOption + "' is not three positive widths like 64-256-256");
  if (batchSize <= 0)
    return fail("--batch must be positive, got " + llvm::Twine(batchSize.getValue()));
  if (learningRate.getNumOccurrences() && learningRate < 0)
    return fail("--lr must be >= 0");
  if (!(momentum > 0 && momentum < 1))
    return fail("--momentum must be in (0, 1) for Nesterov momentum");
  if (weightDecay < 0)
    return fail("--weight-decay must be >= 0");
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
    return fail("--label-smoothing must be in [0, 1]");
  if (!(batchNormMomentum >= 0 && batchNormMomentum <= 1))
    return fail("--bn-momentum must be in [0, 1]");

  kiln::Builder builder("airbench", seed);
  kiln::Tensor images = builder.input("images", {batchSize, 3, 32, 32});
  kiln::Tensor labels = builder.input("labels", {batchSize}, kiln::DType::kI32);

  kiln::Sequential net;
  net.add("whiten", kiln::Conv2d(3, kStemWidth, 2, kiln::Conv2dOptions{}, /*bias=*/false));
  net.add(kiln::BatchNorm2d(
      kStemWidth, kiln::BatchNormOptions{.momentum = batchNormMomentum, .eps = kBatchNormEps}));
  net.add(Gelu());
  int64_t channels = kStemWidth;
  for (int64_t width : *widths) {
    addBlock(net, channels, width);
    channels = width;
  }
  // 32 -> 31 (the 2x2 conv) -> 15 -> 7 -> 3: a 3x3 max pool is the global max.
  net.add(kiln::MaxPool2d(3));
  net.add(kiln::Flatten());
  net.add("head", kiln::Linear(channels, 10, /*bias=*/false));
  kiln::Tensor logits = kiln::mul(net(images), kLogitScale);
  kiln::Tensor loss = kiln::softmaxCrossEntropy(
      logits, labels, kiln::CrossEntropyOptions{.labelSmoothing = labelSmoothing});
  // The trainer measures accuracy from the logits of the forward-only eval program.
  builder.output("logits", logits);

  double rate =
      learningRate >= 0 ? learningRate.getValue() : 1.5 * static_cast<double>(batchSize) / 1024.0;
  kiln::Sgd sgd{
      .learningRate = rate, .momentum = momentum, .nesterov = true, .weightDecay = weightDecay};
  auto module = builder.build(kiln::TrainingSpec{.loss = loss, .optimizer = sgd});
  if (!module.ok())
    return fail(std::string(module.status().message()));

  return kiln::samples::writeModule(**module, outputFile, printLocations, kTool);
}
