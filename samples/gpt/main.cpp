//===- main.cpp - kiln-sample-gpt: a char-level GPT as a Kiln module ------===//
//
// Writes the training module of nanoGPT's GPT (GptModel.h) with AdamW and
// gradient clipping: func @step (inputs "tokens" and "targets" [batch,
// context] i32, output "loss") and the program "generate" (input "tokens"
// [1, context], output "logits") that `kiln generate` samples from. The
// defaults are nanoGPT's shakespeare_char baby GPT scaled down:
//
//   kiln-sample-gpt -o gpt.mlir     # 4 layers, 4 heads, width 128, context 64, batch 12
//   kiln compile gpt.mlir -o gpt.kplan
//   kiln train gpt.kplan --data text:/usr/share/games/fortunes/cookie ...
//
// See docs/guide/gpt.md.
//
//===----------------------------------------------------------------------===//

#include "GptModel.h"
#include "SampleSupport.h"

#include "llvm/Support/CommandLine.h"

#include <cmath>
#include <optional>
#include <string>

namespace cl = llvm::cl;

namespace {

constexpr llvm::StringLiteral kTool = "kiln-sample-gpt";

cl::OptionCategory category("GPT options");

cl::opt<int64_t> layers("layers", cl::desc("Transformer blocks (default 4)"), cl::value_desc("n"),
                        cl::init(4), cl::cat(category));
cl::opt<int64_t> heads("heads", cl::desc("Attention heads per block (default 4)"),
                       cl::value_desc("n"), cl::init(4), cl::cat(category));
cl::opt<int64_t> width("width", cl::desc("Embedding width, a multiple of --heads (default 128)"),
                       cl::value_desc("channels"), cl::init(128), cl::cat(category));
cl::opt<int64_t> context("context", cl::desc("Context length in tokens (default 64)"),
                         cl::value_desc("tokens"), cl::init(64), cl::cat(category));
cl::opt<int64_t> vocab("vocab", cl::desc("Vocabulary size (default 256: bytes)"),
                       cl::value_desc("n"), cl::init(256), cl::cat(category));
cl::opt<int64_t> batchSize("batch", cl::desc("Sequences per training step (default 12)"),
                           cl::value_desc("n"), cl::init(12), cl::cat(category));
cl::opt<double> learningRate("lr", cl::desc("AdamW learning rate (default 0.001)"),
                             cl::value_desc("rate"), cl::init(1e-3), cl::cat(category));
cl::opt<double> beta1("beta1", cl::desc("AdamW beta1 (default 0.9)"), cl::value_desc("b"),
                      cl::init(0.9), cl::cat(category));
cl::opt<double> beta2("beta2", cl::desc("AdamW beta2 (default 0.99)"), cl::value_desc("b"),
                      cl::init(0.99), cl::cat(category));
cl::opt<double> weightDecay("weight-decay",
                            cl::desc("AdamW decoupled weight decay of the matrices; biases, "
                                     "layer norms and embeddings are not decayed (default 0.1)"),
                            cl::value_desc("wd"), cl::init(0.1), cl::cat(category));
cl::opt<double> clip("clip",
                     cl::desc("Clip the gradients to this global L2 norm inside the step "
                              "(default 1.0; 0 turns clipping off)"),
                     cl::value_desc("norm"), cl::init(1.0), cl::cat(category));
cl::opt<bool> generate("generate",
                       cl::desc("Add the batch-1 program \"generate\" for kiln generate "
                                "(default true; --generate=false leaves it out)"),
                       cl::init(true), cl::cat(category));
cl::opt<uint64_t> seed("seed", cl::desc("Seed of the parameters' initial values"),
                       cl::value_desc("n"), cl::init(0), cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Write the module here (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"), cl::cat(category));
cl::opt<bool> printLocations("print-locations",
                             cl::desc("Print each op's source location (this file's lines)"),
                             cl::init(false), cl::cat(category));

int fail(const llvm::Twine &message) { return kiln::samples::fail(kTool, message); }

} // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "Writes the training module of a char-level GPT (nanoGPT's "
                              "architecture, AdamW, gradient clipping) as a Kiln graph-dialect "
                              "module (.mlir).\n");

  if (!(clip >= 0) || std::isinf(clip))
    return fail("--clip must be a finite number >= 0 (0 turns clipping off), got " +
                std::to_string(clip.getValue()));
  kiln::gpt::GptConfig config{.layers = layers,
                              .heads = heads,
                              .width = width,
                              .context = context,
                              .vocab = vocab,
                              .batch = batchSize};
  if (absl::Status valid = kiln::gpt::validateConfig(config); !valid.ok())
    return fail(std::string(valid.message()));

  kiln::gpt::ModuleOptions options{
      .optimizer = kiln::AdamW{.learningRate = learningRate,
                               .beta1 = beta1,
                               .beta2 = beta2,
                               .weightDecay = weightDecay},
      .clipGradNorm = clip > 0 ? std::optional<double>(clip) : std::nullopt,
      .generate = generate,
  };
  kiln::Builder builder("gpt", seed);
  auto module = kiln::gpt::buildModule(builder, config, options);
  if (!module.ok())
    return fail(std::string(module.status().message()));
  return kiln::samples::writeModule(**module, outputFile, printLocations, kTool);
}
