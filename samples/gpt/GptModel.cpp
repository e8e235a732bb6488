//===- GptModel.cpp - nanoGPT's GPT written with the Kiln builder ---------===//
//
// The blocks, named as nanoGPT's modules are, so every parameter's name is
// its key in nanoGPT's state_dict (see GptModel.h).
//
//===----------------------------------------------------------------------===//

#include "GptModel.h"

#include "absl/strings/str_cat.h"

#include <cmath>

namespace kiln::gpt {
namespace {

/// A Linear layer named `name` with nanoGPT's initial values: weight
/// N(0, stddev), bias 0.
Linear linear(int64_t in, int64_t out, double stddev, const char *name) {
  Linear layer(in, out);
  layer.setWeightInit(Init::normal(0.0, stddev)).setBiasInit(Init::zeros()).setName(name);
  return layer;
}

LayerNorm layerNormNamed(int64_t width, const char *name) {
  LayerNorm layer(width);
  layer.setName(name);
  return layer;
}

/// nanoGPT's CausalSelfAttention on x [B, T, C]: c_attn to q, k, v, heads
/// split to [B, H, T, D], causal attention, heads merged, c_proj.
Tensor attention(const GptConfig &config, Tensor x, SourceLocation loc) {
  Builder::NameScope scope(*x.builder(), "attn");
  const int64_t batch = x.dim(0), time = x.dim(1), width = config.width;
  const int64_t heads = config.heads, headSize = width / heads;
  const double residualStddev = 0.02 / std::sqrt(2.0 * static_cast<double>(config.layers));
  Linear cAttn = linear(width, 3 * width, 0.02, "c_attn");
  Linear cProj = linear(width, width, residualStddev, "c_proj");
  Tensor qkv = cAttn(x, loc);
  auto head = [&](int64_t part) {
    Tensor rows = slice(qkv, 2, part * width, width, 1, loc);
    return transpose(reshape(rows, {batch, time, heads, headSize}, loc), {0, 2, 1, 3}, loc);
  };
  Tensor y = causalAttention(head(0), head(1), head(2), loc);
  y = reshape(transpose(y, {0, 2, 1, 3}, loc), {batch, time, width}, loc);
  return cProj(y, loc);
}

/// nanoGPT's MLP: c_fc to 4C, exact GELU, c_proj back to C.
Tensor mlp(const GptConfig &config, Tensor x, SourceLocation loc) {
  Builder::NameScope scope(*x.builder(), "mlp");
  const double residualStddev = 0.02 / std::sqrt(2.0 * static_cast<double>(config.layers));
  Linear cFc = linear(config.width, 4 * config.width, 0.02, "c_fc");
  Linear cProj = linear(4 * config.width, config.width, residualStddev, "c_proj");
  return cProj(gelu(cFc(x, loc), graph::GeluApproximation::none, loc), loc);
}

} // namespace

absl::Status validateConfig(const GptConfig &config) {
  for (auto [field, value] : {std::pair{"layers", config.layers},
                              {"heads", config.heads},
                              {"width", config.width},
                              {"context", config.context},
                              {"vocab", config.vocab},
                              {"batch", config.batch}})
    if (value <= 0)
      return absl::InvalidArgumentError(
          absl::StrCat("GptConfig.", field, " must be positive, got ", value));
  if (config.width % config.heads != 0)
    return absl::InvalidArgumentError(absl::StrCat("GptConfig.width (", config.width,
                                                   ") must be a multiple of heads (", config.heads,
                                                   "): each head gets width / heads channels"));
  return absl::OkStatus();
}

std::vector<std::string> parameterNames(const GptConfig &config) {
  std::vector<std::string> names = {"transformer.wte.weight", "transformer.wpe.weight"};
  for (int64_t layer = 0; layer < config.layers; ++layer) {
    std::string block = absl::StrCat("transformer.h.", layer, ".");
    for (const char *module :
         {"ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj"}) {
      names.push_back(absl::StrCat(block, module, ".weight"));
      names.push_back(absl::StrCat(block, module, ".bias"));
    }
  }
  names.push_back("transformer.ln_f.weight");
  names.push_back("transformer.ln_f.bias");
  return names;
}

std::vector<std::string> noDecayParameters() {
  return {"transformer.wte.weight", "transformer.wpe.weight"};
}

AdamW withDecayMarks(AdamW adamw) {
  adamw.decayMatricesOnly = true;
  adamw.noDecay = noDecayParameters();
  return adamw;
}

Tensor logits(const GptConfig &config, Tensor tokens, SourceLocation loc) {
  Builder *builder = tokens.builder();
  if (!builder)
    return Tensor();
  Builder &b = *builder;
  if (!b.ready(loc))
    return b.poison();
  if (absl::Status valid = validateConfig(config); !valid.ok()) {
    b.reportError(std::string(valid.message()), loc);
    return b.poison();
  }
  if (!tokens.ok() || tokens.rank() != 2 || tokens.dim(1) != config.context ||
      tokens.dtype() != DType::kI32) {
    b.reportError(absl::StrCat("the GPT's tokens must be i32 [batch, ", config.context,
                               "] (the context length)"),
                  loc);
    return b.poison();
  }
  const int64_t batch = tokens.dim(0), time = config.context, width = config.width;

  Builder::NameScope transformer(b, "transformer");
  Tensor wte, wpe;
  {
    Builder::NameScope scope(b, "wte");
    wte = b.parameter("weight", {config.vocab, width}, Init::normal(0.0, 0.02), loc);
  }
  {
    Builder::NameScope scope(b, "wpe");
    wpe = b.parameter("weight", {time, width}, Init::normal(0.0, 0.02), loc);
  }
  // Positions 0 .. T-1 are every row of wpe: the programs run at T = context.
  Tensor x = add(gather(wte, tokens, 0, loc), broadcastTo(wpe, {batch, time, width}, loc), loc);
  for (int64_t layer = 0; layer < config.layers; ++layer) {
    Builder::NameScope h(b, "h");
    Builder::NameScope block(b, absl::StrCat(layer));
    LayerNorm ln1 = layerNormNamed(width, "ln_1");
    LayerNorm ln2 = layerNormNamed(width, "ln_2");
    x = add(x, attention(config, ln1(x, loc), loc), loc);
    x = add(x, mlp(config, ln2(x, loc), loc), loc);
  }
  LayerNorm lnF = layerNormNamed(width, "ln_f");
  x = lnF(x, loc);
  // The head is tied to the token embedding: logits = x wte^T.
  Tensor rows = reshape(x, {batch * time, width}, loc);
  return reshape(matmul(rows, wte, {.transposeRhs = true}, loc), {batch, time, config.vocab}, loc);
}

absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>> buildModule(Builder &b, const GptConfig &config,
                                                              const ModuleOptions &options) {
  if (absl::Status valid = validateConfig(config); !valid.ok())
    return valid;
  Tensor tokens = b.input("tokens", {config.batch, config.context}, DType::kI32);
  Tensor targets = b.input("targets", {config.batch, config.context}, DType::kI32);
  Tensor loss = sequenceCrossEntropy(logits(config, tokens), targets);

  if (options.generate) {
    b.beginProgram("generate");
    Tensor prompt = b.input("tokens", {1, config.context}, DType::kI32);
    b.output("logits", logits(config, prompt));
    b.endProgram();
  }

  Optimizer optimizer = options.optimizer;
  if (const auto *adamw = std::get_if<AdamW>(&optimizer))
    optimizer = withDecayMarks(*adamw);
  return b.build(
      TrainingSpec{.loss = loss, .optimizer = optimizer, .clipGradNorm = options.clipGradNorm});
}

} // namespace kiln::gpt
