#!/usr/bin/python3
"""gpt_reference.py - PyTorch's side of the GPT differential test.

Usage: /usr/bin/python3 gpt_reference.py DIR

DIR holds what the Kiln side wrote (tests/unit/pytorch/GptDifferentialTest.cpp):
manifest.json, the initial parameters, the token batches and Kiln's results, all
raw little-endian arrays. This script builds nanoGPT's GPT (karpathy/nanoGPT
model.py without dropout, with the causal attention written out, as torch 1.13
has no scaled_dot_product_attention) with the same parameter names as Kiln's
samples/gpt, loads Kiln's initial values, trains it on the same batches in
float32 on the CPU with torch.optim.AdamW in two parameter groups (decayed: the
parameters Kiln's decay marks select; not decayed: the rest) and
torch.nn.utils.clip_grad_norm_ before each update, and compares:

  mode "train":     each step's loss (relative error <= loss_rtol) and gradient
                    norm before clipping (<= norm_rtol), and the parameters after
                    the last step (|a-b| <= atol + rtol|b|);
  mode "gradients": the loss and every parameter's gradient of one step.

It prints every mismatch and exits 1 when there is one, 2 when the input is
unusable or PyTorch is missing, 0 when all match.
"""

import math
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as error:
    print(f"gpt_reference.py: cannot import PyTorch/numpy with {sys.executable}: {error}\n"
          "HINT: PyTorch is a declared dependency of Kiln's tests; install it with "
          "scripts/install-deps.sh (Debian's python3-torch).")
    sys.exit(2)

from exchange import load, load_initial, read_manifest  # noqa: E402 (after the guarded imports)
from mlp_reference import replay  # noqa: E402


class CausalSelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(width, 3 * width)
        self.c_proj = nn.Linear(width, width)

    def forward(self, x):
        batch, time, width = x.shape
        head_size = width // self.heads
        q, k, v = self.c_attn(x).split(width, dim=2)
        q, k, v = (t.view(batch, time, self.heads, head_size).transpose(1, 2) for t in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(head_size))
        mask = torch.tril(torch.ones(time, time, dtype=torch.bool))
        scores = scores.masked_fill(~mask, float("-inf"))
        y = F.softmax(scores, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(batch, time, width))


class Mlp(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = Mlp(width)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Gpt(nn.Module):
    def __init__(self, config):
        super().__init__()
        width = config["width"]
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config["vocab"], width),
            wpe=nn.Embedding(config["context"], width),
            h=nn.ModuleList([Block(width, config["heads"]) for _ in range(config["layers"])]),
            ln_f=nn.LayerNorm(width),
        ))
        self.lm_head = nn.Linear(width, config["vocab"], bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as in nanoGPT

    def forward(self, tokens):
        positions = torch.arange(tokens.shape[1])
        x = self.transformer.wte(tokens) + self.transformer.wpe(positions)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


def parameter_groups(model, config):
    """AdamW's two groups: the parameters Kiln decays (rank >= decay_min_rank, not named in
    no_decay) and the others, with weight decay 0."""
    min_rank = config.get("decay_min_rank", 0)
    no_decay = set(config.get("no_decay", []))
    named = dict(model.named_parameters())
    unknown = no_decay - set(named)
    if unknown:
        raise ValueError(f"no_decay names parameters the model lacks: {sorted(unknown)}")
    decay = [p for n, p in named.items() if p.dim() >= min_rank and n not in no_decay]
    keep = [p for n, p in named.items() if not (p.dim() >= min_rank and n not in no_decay)]
    return [{"params": decay, "weight_decay": config["weight_decay"]},
            {"params": keep, "weight_decay": 0.0}], len(decay), len(keep)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    directory = sys.argv[1]
    manifest = read_manifest(directory)

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = Gpt(manifest["config"])
    parameters = dict(model.named_parameters())
    problem = load_initial(directory, manifest, parameters)
    if problem:
        print(problem)
        return 1

    config = manifest["optimizer"]
    groups, decayed, kept = parameter_groups(model, config)
    optimizer = torch.optim.AdamW(groups, lr=config["learning_rate"],
                                  betas=(config["beta1"], config["beta2"]),
                                  eps=config["epsilon"])
    tokens = torch.from_numpy(load(directory, manifest["tokens"]).astype(np.int64))
    targets = torch.from_numpy(load(directory, manifest["targets"]).astype(np.int64))
    vocab = manifest["config"]["vocab"]

    def loss_of(model, tokens, targets):
        return F.cross_entropy(model(tokens).view(-1, vocab), targets.view(-1))

    return replay(directory, manifest, model, parameters, batches=(tokens, targets),
                  loss_of=loss_of, optimizer=optimizer, clip=manifest.get("clip_grad_norm"),
                  summary=f"GPT {manifest['config']} with {decayed} decayed and {kept} "
                  "undecayed parameters")


if __name__ == "__main__":
    sys.exit(main())
