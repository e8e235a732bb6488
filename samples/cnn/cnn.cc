//===- cnn.cc - A Fashion-MNIST CNN written with the Kiln builder ---------===//
//
// Builds the convolutional network that classifies 28x28 Fashion-MNIST images
// and writes its training step as a graph-dialect module:
//
//   conv 3x3 (1 -> W, pad 1, no bias) - batch norm - ReLU - max pool 2
//   conv 3x3 (W -> 2W, pad 1, no bias) - batch norm - ReLU - max pool 2
//   dropout - linear (2W * 7 * 7 -> 10), mean softmax cross entropy
//
//   kiln-sample-cnn --width 32 --optimizer adam -o cnn.mlir
//
// The model takes `images` [batch, C * H * W] (what kiln train feeds from an
// image dataset, flattened) and reshapes them to NCHW itself, so the same
// module trains on Fashion-MNIST and on `--data synthetic`.
//
//===----------------------------------------------------------------------===//

#include "kiln/Frontend.h"

#include "SampleSupport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <optional>
#include <string>

namespace cl = llvm::cl;

namespace {

constexpr llvm::StringLiteral kTool = "kiln-sample-cnn";

cl::OptionCategory category("CNN options");

cl::opt<int64_t> width("width",
                       cl::desc("Channels of the first convolution; the second has twice as many"),
                       cl::value_desc("channels"), cl::init(32), cl::cat(category));
cl::opt<std::string> imageShape("image",
                                cl::desc("The shape of one example as CxHxW (default 1x28x28, "
                                         "Fashion-MNIST; H and W at least 4)"),
                                cl::value_desc("CxHxW"), cl::init("1x28x28"), cl::cat(category));
cl::opt<int64_t> classes("classes", cl::desc("Number of classes (default 10)"), cl::value_desc("n"),
                         cl::init(10), cl::cat(category));
cl::opt<int64_t> batchSize("batch", cl::desc("Examples per step (static batch size)"),
                           cl::value_desc("n"), cl::init(128), cl::cat(category));
cl::opt<double> dropoutRate("dropout",
                            cl::desc("Dropout rate before the linear head (default 0.25; 0 "
                                     "leaves dropout out)"),
                            cl::value_desc("rate"), cl::init(0.25), cl::cat(category));
cl::opt<double> labelSmoothing("label-smoothing",
                               cl::desc("Label smoothing of the cross entropy (default 0)"),
                               cl::value_desc("s"), cl::init(0.0), cl::cat(category));
kiln::samples::OptimizerOptions
    optimizerOptions(category, /*sgdLearningRate=*/0.05,
                     "Learning rate (default: 0.05 for sgd, 0.001 for adam and adamw)",
                     /*withWeightDecay=*/true);
cl::opt<uint64_t> seed("seed", cl::desc("Seed of the parameters' initial values"),
                       cl::value_desc("n"), cl::init(0), cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Write the module here (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"), cl::cat(category));
cl::opt<bool> printLocations("print-locations",
                             cl::desc("Print each op's source location (this file's lines)"),
                             cl::init(false), cl::cat(category));

/// "1x28x28" as {1, 28, 28}; std::nullopt unless it is three positive integers separated by 'x'.
std::optional<std::array<int64_t, 3>> parseImageShape(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, 'x');
  if (parts.size() != 3)
    return std::nullopt;
  std::array<int64_t, 3> shape{};
  for (auto [part, extent] : llvm::zip_equal(parts, shape))
    if (part.getAsInteger(10, extent) || extent <= 0)
      return std::nullopt;
  return shape;
}

int fail(const llvm::Twine &message) { return kiln::samples::fail(kTool, message); }

} // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "Writes the training step of a Fashion-MNIST convolutional "
                              "classifier as a Kiln graph-dialect module (.mlir).\n");

  std::optional<std::array<int64_t, 3>> image = parseImageShape(imageShape);
  if (!image)
    return fail("--image '" + imageShape + "' is not a shape like 1x28x28 (CxHxW)");
  auto [channels, height, imageWidth] = *image;
  // Two 2x2 poolings must leave at least one pixel.
  if (height < 4 || imageWidth < 4)
    return fail("--image " + imageShape + " is smaller than 4x4, which two 2x2 poolings need");
  if (width <= 0)
    return fail("--width must be positive, got " + llvm::Twine(width.getValue()));
  if (classes < 2)
    return fail("--classes must be at least 2, got " + llvm::Twine(classes.getValue()));
  if (batchSize <= 0)
    return fail("--batch must be positive, got " + llvm::Twine(batchSize.getValue()));
  if (!(dropoutRate >= 0 && dropoutRate < 1))
    return fail("--dropout must lie in [0, 1)");
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
    return fail("--label-smoothing must lie in [0, 1]");
  if (std::string error = optimizerOptions.validate(); !error.empty())
    return fail(error);

  kiln::Builder builder("cnn", seed);
  kiln::Tensor images = builder.input("images", {batchSize, channels * height * imageWidth});
  kiln::Tensor labels = builder.input("labels", {batchSize}, kiln::DType::kI32);

  // The convolutions have no bias: the batch norm after each subtracts the per-channel mean,
  // which would cancel it (its gradient is 0), as in torchvision's ResNets.
  const kiln::Conv2dOptions same{.padding = {1, 1}};
  kiln::Sequential cnn;
  cnn.add(kiln::Conv2d(channels, width, 3, same, /*bias=*/false))
      .add(kiln::BatchNorm2d(width))
      .add(kiln::Relu())
      .add(kiln::MaxPool2d(2))
      .add(kiln::Conv2d(width, 2 * width, 3, same, /*bias=*/false))
      .add(kiln::BatchNorm2d(2 * width))
      .add(kiln::Relu())
      .add(kiln::MaxPool2d(2));
  if (dropoutRate > 0)
    cnn.add(kiln::Dropout(dropoutRate));
  cnn.add(kiln::Flatten()).add(kiln::Linear(2 * width * (height / 4) * (imageWidth / 4), classes));

  kiln::Tensor logits = cnn(kiln::reshape(images, {batchSize, channels, height, imageWidth}));
  kiln::Tensor loss =
      kiln::softmaxCrossEntropy(logits, labels, {.labelSmoothing = labelSmoothing.getValue()});
  // The trainer measures accuracy from the logits of the forward-only eval program.
  builder.output("logits", logits);

  auto module =
      builder.build(kiln::TrainingSpec{.loss = loss, .optimizer = optimizerOptions.optimizer()});
  if (!module.ok())
    return fail(std::string(module.status().message()));

  return kiln::samples::writeModule(**module, outputFile, printLocations, kTool);
}
