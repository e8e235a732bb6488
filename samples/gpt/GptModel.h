//===- GptModel.h - nanoGPT's GPT written with the Kiln builder -*- C++ -*-===//
//
// A decoder-only transformer with nanoGPT's architecture and state_dict names
// (karpathy/nanoGPT model.py, dropout 0): token and position embeddings
// (transformer.wte, transformer.wpe), `layers` pre-norm blocks
// transformer.h.N of causal multi-head self-attention (ln_1, attn.c_attn
// [3C, C] with bias, attn.c_proj) and an MLP (ln_2, mlp.c_fc [4C, C], exact
// GELU, mlp.c_proj), a final layer norm (transformer.ln_f) and an output head
// tied to the token embedding (logits = x wte^T, no lm_head parameter of its
// own; its gradient is summed into wte's). The vocabulary is byte-level
// (256) by default, what `kiln train --data text:FILE` feeds.
//
// Initial values follow nanoGPT's _init_weights: linear weights and
// embeddings N(0, 0.02), the residual projections c_proj N(0, 0.02 /
// sqrt(2 layers)), biases 0, layer norms weight 1 and bias 0.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_SAMPLES_GPT_GPTMODEL_H
#define KILN_SAMPLES_GPT_GPTMODEL_H

#include "kiln/Frontend.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::gpt {

/// The model's shape and the step's batch.
struct GptConfig {
  int64_t layers = 4;
  int64_t heads = 4;
  /// The embedding width C (n_embd); a multiple of `heads`.
  int64_t width = 128;
  /// The sequence length T of every program (block_size).
  int64_t context = 64;
  int64_t vocab = 256;
  /// Sequences per training step.
  int64_t batch = 12;
};

/// OK when every size is positive and `width` is a multiple of `heads`;
/// InvalidArgument naming the field otherwise.
absl::Status validateConfig(const GptConfig &config);

/// The trainable parameters' names in creation order, as in nanoGPT's
/// state_dict (without the tied lm_head.weight).
std::vector<std::string> parameterNames(const GptConfig &config);

/// The parameters AdamW must not decay besides the vectors (biases, layer
/// norms; decayMatricesOnly leaves those out): the embeddings
/// transformer.wte.weight and transformer.wpe.weight.
std::vector<std::string> noDecayParameters();

/// An AdamW with the GPT's decay marks: decayMatricesOnly and
/// noDecayParameters(), the other fields from `adamw`.
AdamW withDecayMarks(AdamW adamw);

/// The logits [B, T, vocab] of `tokens` [B, T] (i32, T = config.context),
/// built on `tokens`' Builder in the open program. Creates the parameters on
/// the first call; a call in another program (Builder::beginProgram) reads the
/// same variables.
Tensor logits(const GptConfig &config, Tensor tokens,
              SourceLocation loc = SourceLocation::current());

/// What buildModule makes besides the step.
struct ModuleOptions {
  /// The training spec's optimizer; the GPT's decay marks are added when it
  /// is an AdamW (see withDecayMarks).
  Optimizer optimizer = AdamW{};
  /// The largest global gradient norm (TrainingSpec::clipGradNorm).
  std::optional<double> clipGradNorm = std::nullopt;
  /// Add the program "generate": input "tokens" [1, context] (i32), output
  /// "logits" [1, context, vocab], the forward pass `kiln generate` runs.
  bool generate = true;
};

/// The GPT's training module on `builder` (which must be fresh): func @step
/// with inputs "tokens" and "targets" ([batch, context], i32) and output
/// "loss" (the mean cross entropy of the next byte; "grad_norm" too once the
/// optimizer pass has run with clipping), plus the "generate" program when
/// asked. Fails with the first error (InvalidArgument).
absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>>
buildModule(Builder &builder, const GptConfig &config, const ModuleOptions &options);

} // namespace kiln::gpt

#endif // KILN_SAMPLES_GPT_GPTMODEL_H
