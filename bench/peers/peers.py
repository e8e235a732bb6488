#!/usr/bin/env python3
"""bench/peers/peers.py: the peers' side of bench/peers/run.sh, and its summary.

  peers.py train --peer torch-eager|torch-compile|jax --arch 784-512-512-10|cnn --batch 128
                 --steps N --warmup W --threads T --out RESULT.json
      Trains the model on synthetic data (a few fixed random batches, made before timing),
      W untimed steps and then N timed ones, each step ended by reading its loss; writes the
      median step time. An MLP (--arch WIDTHS: ReLU hidden layers, mean softmax cross entropy)
      uses Adam lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8. --arch cnn is samples/cnn's
      Fashion-MNIST CNN (see CNN below), SGD with momentum. A peer that cannot be imported or
      fails writes {"error": "..."} and exits 0: run.sh reports it as absent.
  peers.py kiln --kiln BIN --plan P --device cpu|vulkan|reference --runner NAME --arch A
                --batch B --steps N --threads T --out RESULT.json [--error MESSAGE] [--data D]
      Runs `kiln train P --data D --steps N --device D [--threads T] --stats-json` (D: synthetic)
      and writes its step_seconds (the median host step time) with the run's name, model and
      threads; a failure (or --error, for a plan that did not compile) writes {"error"}.
  peers.py machine
      Prints the machine facts the summary uses (JSON).
  peers.py summary WORK
      Reads WORK/machine.json and WORK/results/*.json (one per run: run.sh's Kiln runs and the peers') and prints the table.

CNN (--arch cnn, the model of samples/cnn, kiln-sample-cnn --dropout 0): images
[B, 1, 28, 28] -> conv 3x3 1->32 (padding 1, no bias) -> batch norm -> ReLU -> max pool 2x2 ->
conv 3x3 32->64 (padding 1, no bias) -> batch norm -> ReLU -> max pool 2x2 -> flatten (3136)
-> linear 3136->10 (bias), mean softmax cross entropy; batch norm in training mode (batch
statistics, biased variance, eps 1e-5, running statistics updated with momentum 0.1); SGD
lr 0.05, momentum 0.9 (PyTorch's form: v = m v + g, p -= lr v), the sample's defaults.

GPT (--arch gpt, the model of samples/gpt, kiln-sample-gpt's defaults): nanoGPT's architecture,
byte-level vocabulary 256, 4 layers, 4 heads, width 128, context 64, batch 12 (run.sh's
GPT_BATCH): token and position embeddings, pre-norm blocks (layer norm, causal self-attention
with a fused qkv projection, layer norm, MLP 128->512->128 with exact GELU), final layer norm,
output head tied to the token embedding; mean cross entropy over [batch, time]. AdamW lr 1e-3,
betas (0.9, 0.99), eps 1e-8, weight decay 0.1 on the matrices only (not biases, layer norms or
embeddings), gradients clipped to global norm 1.0 every step. Synthetic data: fixed random byte
windows (uniform tokens; the step's cost does not depend on them). Kiln trains it with
--data text:FILE (run.sh's GPT_TEXT).

For JAX the thread count must be set before jax is imported; run.sh sets XLA_FLAGS and pins
every run to T cores with taskset.
"""

import argparse
import glob
import json
import os
import platform
import re
import statistics
import sys
import time


CNN_ARCH = "cnn"
# The CNN's convolutions: (input channels, output channels, output height = width), 3x3 kernels.
CNN_CONVS = [(1, 32, 28), (32, 64, 14)]
CNN_CLASSES = 10
CNN_FLAT = 64 * 7 * 7
CNN_LR = 0.05
CNN_MOMENTUM = 0.9

GPT_ARCH = "gpt"
GPT = {"layers": 4, "heads": 4, "width": 128, "context": 64, "vocab": 256}
GPT_LR, GPT_BETAS, GPT_EPS, GPT_DECAY, GPT_CLIP = 1e-3, (0.9, 0.99), 1e-8, 0.1, 1.0


def widths(arch):
    return [int(w) for w in arch.split("-")]


def flops_per_step(arch, batch):
    """3 matmul-like products per layer (forward, dW, dX) of 2*B*in*out flops each (for a
    convolution in = input channels x 9 and out = output channels x output pixels); the first
    layer's dX is not computed (its input is data), so it is not counted. Elementwise work
    (bias, batch norm, ReLU, pooling, softmax, the optimizer) is left out."""
    if arch == GPT_ARCH:
        # nanoGPT's estimate (PaLM appendix B): 6 N per token for the matmul parameters N (the
        # blocks' 12 C^2 per layer and the tied head's V C) plus 12 L T C for attention's two
        # products, forward and backward; the causal half is counted as full, as nanoGPT does.
        L, C, T, V = GPT["layers"], GPT["width"], GPT["context"], GPT["vocab"]
        n = 12 * L * C * C + V * C
        return (6 * n + 12 * L * T * C) * batch * T
    if arch == CNN_ARCH:
        layers = [(cin * 9, cout * size * size) for cin, cout, size in CNN_CONVS]
        layers.append((CNN_FLAT, CNN_CLASSES))
    else:
        w = widths(arch)
        layers = list(zip(w, w[1:]))
    total = 0
    for layer, (fan_in, fan_out) in enumerate(layers):
        total += (3 if layer > 0 else 2) * 2 * batch * fan_in * fan_out
    return total


def model_description(arch):
    if arch == GPT_ARCH:
        return (f"nanoGPT {GPT['layers']} layers, {GPT['heads']} heads, width {GPT['width']}, "
                f"context {GPT['context']}, vocab {GPT['vocab']}; AdamW lr {GPT_LR} decay "
                f"{GPT_DECAY} on matrices, clip {GPT_CLIP}")
    if arch == CNN_ARCH:
        return ("the Fashion-MNIST CNN (conv 1->32, conv 32->64, 3x3, batch norm, max pool; "
                f"linear 3136->10), SGD lr {CNN_LR} momentum {CNN_MOMENTUM}")
    return "Adam lr 1e-3"


def synthetic_batches(arch, batch, rng, np):
    """8 fixed batches (x f32, y int64) of standard normal features and uniform labels; for the
    GPT (tokens, targets) int64 [batch, context], uniform bytes."""
    if arch == GPT_ARCH:
        shape = (batch, GPT["context"])
        return [(rng.integers(0, GPT["vocab"], shape), rng.integers(0, GPT["vocab"], shape))
                for _ in range(8)]
    if arch == CNN_ARCH:
        shape, classes = (batch, 1, 28, 28), CNN_CLASSES
    else:
        w = widths(arch)
        shape, classes = (batch, w[0]), w[-1]
    return [(rng.standard_normal(shape, dtype=np.float32), rng.integers(0, classes, batch))
            for _ in range(8)]


def error_result(args, message):
    return {"runner": args.peer, "arch": args.arch, "threads": args.threads, "error": message}


def time_steps(run_step, batches, args):
    """Runs args.warmup + args.steps steps (run_step(x, y) returns the loss once the step has
    finished); returns the median time of the last args.steps, the time to the end of the first
    step (compilation included) and the last loss."""
    times = []
    compile_start = time.perf_counter()
    for i in range(args.warmup + args.steps):
        x, y = batches[i % len(batches)]
        start = time.perf_counter()
        loss = run_step(x, y)
        end = time.perf_counter()
        if i == 0:
            first = end - compile_start
        if i >= args.warmup:
            times.append(end - start)
    return statistics.median(times), first, loss


def time_jax(step, state, batches, args, notes):
    """Times a jitted step(state, x, y) -> (state, loss) that donates its state, as time_steps
    does, and returns the run's result."""
    import jax

    def run_step(x, y):
        nonlocal state
        state, loss = step(state, x, y)
        return float(loss.block_until_ready())

    median, first, loss = time_steps(run_step, batches, args)
    return {"runner": args.peer, "arch": args.arch, "threads": args.threads,
            "step_seconds": median, "first_step_seconds": first,
            "final_loss": loss, "version": f"jax {jax.__version__}", "notes": notes}


def train_torch(args, compiled):
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    nn = torch.nn
    if args.arch == CNN_ARCH:
        layers = []
        for cin, cout, _ in CNN_CONVS:
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU(), nn.MaxPool2d(2)]
        model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(CNN_FLAT, CNN_CLASSES))
        model.train()
        opt_name = "SGD foreach"
        try:
            opt = torch.optim.SGD(model.parameters(), lr=CNN_LR, momentum=CNN_MOMENTUM,
                                  foreach=True)
        except (RuntimeError, TypeError, ValueError):
            opt = torch.optim.SGD(model.parameters(), lr=CNN_LR, momentum=CNN_MOMENTUM)
            opt_name = "SGD default"
    else:
        w = widths(args.arch)
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(w, w[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i + 2 < len(w):
                layers.append(nn.ReLU())
        model = nn.Sequential(*layers)
        opt_name = "Adam fused"
        try:
            opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
        except (RuntimeError, TypeError, ValueError):
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            opt_name = "Adam default"
    rng = np.random.default_rng(0)
    batches = [(torch.from_numpy(x), torch.from_numpy(y).long())
               for x, y in synthetic_batches(args.arch, args.batch, rng, np)]
    loss_fn = torch.nn.functional.cross_entropy

    def step_fn(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(forward(x), y)
        loss.backward()
        opt_step()
        return loss

    if compiled:
        forward = torch.compile(model)
        opt_step = torch.compile(opt.step)
    else:
        forward = model
        opt_step = opt.step

    median, first, loss = time_steps(lambda x, y: step_fn(x, y).item(), batches, args)
    return {"runner": args.peer, "arch": args.arch, "threads": args.threads,
            "step_seconds": median, "first_step_seconds": first,
            "final_loss": loss, "version": f"torch {torch.__version__}",
            "notes": f"{opt_name}; torch threads {torch.get_num_threads()}"}


def train_torch_gpt(args, compiled):
    import math
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    nn, F = torch.nn, torch.nn.functional
    L, H, C, T, V = (GPT[k] for k in ("layers", "heads", "width", "context", "vocab"))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
            self.c_attn, self.attn_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
            self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

        def forward(self, x):
            B = x.shape[0]
            q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn_proj(y.transpose(1, 2).contiguous().view(B, T, C))
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))

    class Gpt(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
            self.blocks = nn.ModuleList(Block() for _ in range(L))
            self.ln_f = nn.LayerNorm(C)
            for name, p in self.named_parameters():
                if p.dim() == 2:
                    std = 0.02 / math.sqrt(2 * L) if name.endswith("proj.weight") else 0.02
                    nn.init.normal_(p, 0.0, std)
                elif name.endswith("bias") and "ln" not in name:
                    nn.init.zeros_(p)

        def forward(self, tokens):
            x = self.wte(tokens) + self.wpe(torch.arange(T))
            for block in self.blocks:
                x = block(x)
            return self.ln_f(x) @ self.wte.weight.t()

    model = Gpt()
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "wte" not in n and
             "wpe" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "wte" not in n and
                                                           "wpe" not in n)]
    groups = [{"params": decay, "weight_decay": GPT_DECAY}, {"params": other, "weight_decay": 0.0}]
    opt_name = "AdamW fused"
    try:
        opt = torch.optim.AdamW(groups, lr=GPT_LR, betas=GPT_BETAS, eps=GPT_EPS, fused=True)
    except (RuntimeError, TypeError, ValueError):
        opt = torch.optim.AdamW(groups, lr=GPT_LR, betas=GPT_BETAS, eps=GPT_EPS)
        opt_name = "AdamW default"
    parameters = list(model.parameters())
    rng = np.random.default_rng(0)
    batches = [(torch.from_numpy(x).long(), torch.from_numpy(y).long())
               for x, y in synthetic_batches(args.arch, args.batch, rng, np)]
    forward = torch.compile(model) if compiled else model

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(forward(x).view(-1, V), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, GPT_CLIP)
        opt_step()
        return loss

    opt_step = torch.compile(opt.step) if compiled else opt.step
    median, first, loss = time_steps(lambda x, y: step(x, y).item(), batches, args)
    return {"runner": args.peer, "arch": args.arch, "threads": args.threads,
            "step_seconds": median, "first_step_seconds": first,
            "final_loss": loss, "version": f"torch {torch.__version__}",
            "notes": f"{opt_name}; scaled_dot_product_attention; torch threads "
                     f"{torch.get_num_threads()}"}


def train_jax_gpt(args):
    import math
    import numpy as np
    import jax
    import jax.numpy as jnp

    L, H, C, T, V = (GPT[k] for k in ("layers", "heads", "width", "context", "vocab"))
    key = jax.random.PRNGKey(0)

    def normal(shape, std):
        nonlocal key
        key, k = jax.random.split(key)
        return std * jax.random.normal(k, shape, jnp.float32)

    zeros, ones = (lambda n: jnp.zeros((n,), jnp.float32)), (lambda n: jnp.ones((n,), jnp.float32))
    proj_std = 0.02 / math.sqrt(2 * L)
    params = {"wte": normal((V, C), 0.02), "wpe": normal((T, C), 0.02),
              "ln_f": (ones(C), zeros(C)),
              "blocks": [{"ln_1": (ones(C), zeros(C)), "ln_2": (ones(C), zeros(C)),
                          "attn": (normal((C, 3 * C), 0.02), zeros(3 * C)),
                          "attn_proj": (normal((C, C), proj_std), zeros(C)),
                          "fc": (normal((C, 4 * C), 0.02), zeros(4 * C)),
                          "mlp_proj": (normal((4 * C, C), proj_std), zeros(C))}
                         for _ in range(L)]}
    # Decay on the blocks' matrices only, as the other peers and Kiln do.
    decay_mask = jax.tree_util.tree_map(lambda p: False, params)
    for b in decay_mask["blocks"]:
        for name in ("attn", "attn_proj", "fc", "mlp_proj"):
            b[name] = (True, False)
    causal = jnp.tril(jnp.ones((T, T), bool))

    def layer_norm(x, wb):
        mean = jnp.mean(x, -1, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), -1, keepdims=True)
        return (x - mean) * jax.lax.rsqrt(var + 1e-5) * wb[0] + wb[1]

    def loss_fn(params, tokens, targets):
        B = tokens.shape[0]
        x = params["wte"][tokens] + params["wpe"][None]
        for b in params["blocks"]:
            qkv = layer_norm(x, b["ln_1"]) @ b["attn"][0] + b["attn"][1]
            q, k, v = (t.reshape(B, T, H, C // H).transpose(0, 2, 1, 3)
                       for t in jnp.split(qkv, 3, axis=-1))
            s = jnp.where(causal, q @ k.transpose(0, 1, 3, 2) / math.sqrt(C // H), -jnp.inf)
            y = (jax.nn.softmax(s, -1) @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
            x = x + y @ b["attn_proj"][0] + b["attn_proj"][1]
            h = jax.nn.gelu(layer_norm(x, b["ln_2"]) @ b["fc"][0] + b["fc"][1], approximate=False)
            x = x + h @ b["mlp_proj"][0] + b["mlp_proj"][1]
        logits = layer_norm(x, params["ln_f"]) @ params["wte"].T
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, targets[..., None], axis=-1))

    b1, b2 = GPT_BETAS
    state = (params, jax.tree_util.tree_map(jnp.zeros_like, params),
             jax.tree_util.tree_map(jnp.zeros_like, params), jnp.zeros((), jnp.float32))

    def step(state, tokens, targets):
        params, m, v, t = state
        loss, grads = jax.value_and_grad(loss_fn)(params, tokens, targets)
        norm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in jax.tree_util.tree_leaves(grads)))
        coef = jnp.minimum(1.0, GPT_CLIP / (norm + 1e-6))
        grads = jax.tree_util.tree_map(lambda g: g * coef, grads)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t

        def update(p, m, v, decays):
            p = p * (1 - GPT_LR * GPT_DECAY) if decays else p
            return p - GPT_LR * (m / c1) / (jnp.sqrt(v / c2) + GPT_EPS)

        params = jax.tree_util.tree_map(update, params, m, v, decay_mask)
        return (params, m, v, t), loss

    step = jax.jit(step, donate_argnums=(0,))
    rng = np.random.default_rng(0)
    batches = [(jnp.asarray(x.astype(np.int32)), jnp.asarray(y.astype(np.int32)))
               for x, y in synthetic_batches(args.arch, args.batch, rng, np)]

    return time_jax(step, state, batches, args, "XLA_FLAGS=" + os.environ.get("XLA_FLAGS", ""))


def train_jax(args):
    import numpy as np
    import jax
    import jax.numpy as jnp

    w = widths(args.arch)
    key = jax.random.PRNGKey(0)
    params = []
    for fan_in, fan_out in zip(w, w[1:]):
        key, k = jax.random.split(key)
        bound = 1.0 / np.sqrt(fan_in)
        params.append((jax.random.uniform(k, (fan_in, fan_out), jnp.float32, -bound, bound),
                       jnp.zeros((fan_out,), jnp.float32)))
    # m and v are separate buffers: the step donates its whole state.
    state = (params, jax.tree_util.tree_map(jnp.zeros_like, params),
             jax.tree_util.tree_map(jnp.zeros_like, params), jnp.zeros((), jnp.float32))
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 1e-3

    def loss_fn(params, x, y):
        h = x
        for i, (weight, bias) in enumerate(params):
            h = h @ weight + bias
            if i + 1 < len(params):
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def step(state, x, y):
        params, m, v, t = state
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v)
        return (params, m, v, t), loss

    step = jax.jit(step, donate_argnums=(0,))
    rng = np.random.default_rng(0)
    batches = [(jnp.asarray(rng.standard_normal((args.batch, w[0]), dtype=np.float32)),
                jnp.asarray(rng.integers(0, w[-1], args.batch).astype(np.int32)))
               for _ in range(8)]
    return time_jax(step, state, batches, args, "XLA_FLAGS=" + os.environ.get("XLA_FLAGS", ""))


def train_jax_cnn(args):
    import numpy as np
    import jax
    import jax.numpy as jnp

    key = jax.random.PRNGKey(0)
    # NHWC activations and HWIO weights, the layout XLA's CPU convolutions are fastest in (about
    # 15% faster than NCHW here); the images are transposed once, before timing. The flatten
    # order (h, w, c) differs from PyTorch's (c, h, w) by a fixed permutation of the linear
    # layer's inputs, so the model is the same. PyTorch's default initialization: uniform
    # (+-1/sqrt(fan_in)) weights and biases; the convolutions have no bias.
    convs = []
    for cin, cout, _ in CNN_CONVS:
        key, kw = jax.random.split(key)
        bound = 1.0 / np.sqrt(cin * 9)
        convs.append({"w": jax.random.uniform(kw, (3, 3, cin, cout), jnp.float32, -bound, bound),
                      "gamma": jnp.ones((cout,), jnp.float32),
                      "beta": jnp.zeros((cout,), jnp.float32)})
    key, kw, kb = jax.random.split(key, 3)
    bound = 1.0 / np.sqrt(CNN_FLAT)
    params = {"convs": convs,
              "w": jax.random.uniform(kw, (CNN_FLAT, CNN_CLASSES), jnp.float32, -bound, bound),
              "b": jax.random.uniform(kb, (CNN_CLASSES,), jnp.float32, -bound, bound)}
    running = [{"mean": jnp.zeros((cout,), jnp.float32), "var": jnp.ones((cout,), jnp.float32)}
               for _, cout, _ in CNN_CONVS]
    state = (params, jax.tree_util.tree_map(jnp.zeros_like, params), running)
    eps, bn_momentum = 1e-5, 0.1

    def forward(params, x):
        h = x
        stats = []
        for conv in params["convs"]:
            h = jax.lax.conv_general_dilated(h, conv["w"], (1, 1), ((1, 1), (1, 1)),
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
            mean = jnp.mean(h, axis=(0, 1, 2))
            var = jnp.mean(jnp.square(h - mean), axis=(0, 1, 2))
            stats.append((mean, var))
            h = (h - mean) * jax.lax.rsqrt(var + eps) * conv["gamma"] + conv["beta"]
            h = jax.nn.relu(h)
            h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1),
                                      "VALID")
        h = h.reshape(h.shape[0], -1) @ params["w"] + params["b"]
        return h, stats

    def loss_fn(params, x, y):
        logits, stats = forward(params, x)
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1)), stats

    def step(state, x, y):
        params, velocity, running = state
        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, x, y)
        velocity = jax.tree_util.tree_map(lambda v, g: CNN_MOMENTUM * v + g, velocity, grads)
        params = jax.tree_util.tree_map(lambda p, v: p - CNN_LR * v, params, velocity)
        # Running statistics as PyTorch keeps them: the unbiased variance of the batch.
        new_running = []
        for (mean, var), r, (_, _, size) in zip(stats, running, CNN_CONVS):
            n = x.shape[0] * size * size
            new_running.append({"mean": (1 - bn_momentum) * r["mean"] + bn_momentum * mean,
                                "var": (1 - bn_momentum) * r["var"] +
                                       bn_momentum * var * n / (n - 1)})
        return (params, velocity, new_running), loss

    step = jax.jit(step, donate_argnums=(0,))
    rng = np.random.default_rng(0)
    batches = [(jnp.asarray(x.transpose(0, 2, 3, 1)), jnp.asarray(y.astype(np.int32)))
               for x, y in synthetic_batches(args.arch, args.batch, rng, np)]

    return time_jax(step, state, batches, args, "NHWC; XLA_FLAGS=" + os.environ.get("XLA_FLAGS", ""))


def command_train(args):
    try:
        gpt = args.arch == GPT_ARCH
        if args.peer in ("torch-eager", "torch-compile"):
            compiled = args.peer == "torch-compile"
            result = (train_torch_gpt if gpt else train_torch)(args, compiled=compiled)
        elif args.peer == "jax":
            result = (train_jax_gpt(args) if gpt else
                      train_jax_cnn(args) if args.arch == CNN_ARCH else train_jax(args))
        else:
            result = error_result(args, f"unknown peer '{args.peer}'")
    except ImportError as e:
        result = error_result(args, f"absent: {e}")
    except Exception as e:  # a peer that fails is reported, not a crash of the benchmark
        first = (str(e).strip().splitlines() or [""])[0]
        result = error_result(args, f"failed: {type(e).__name__}: {first[:200]}")
    result["batch"] = args.batch
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


def command_kiln(args):
    import subprocess
    import tempfile

    result = {"runner": args.runner, "arch": args.arch, "threads": args.threads,
              "batch": args.batch}
    if args.error:
        result["error"] = args.error
    else:
        with tempfile.TemporaryDirectory() as tmp:
            stats = os.path.join(tmp, "stats.json")
            command = [args.kiln, "train", args.plan, "--data", args.data, "--steps",
                       str(args.steps), "--device", args.device, "--log-every", "0",
                       "--stats-json", stats]
            if args.device == "cpu":
                command += ["--threads", str(args.threads)]
            env = dict(os.environ)
            if args.device == "vulkan":
                env["LP_NUM_THREADS"] = str(args.threads)
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            with open(args.out + ".log", "w") as log:
                log.write("$ " + " ".join(command) + "\n" + done.stdout + done.stderr)
            if done.returncode != 0 or not os.path.exists(stats):
                lines = [l for l in (done.stderr + done.stdout).splitlines() if l.strip()]
                first = next((l for l in lines if "error" in l.lower()), lines[0] if lines else "")
                result["error"] = f"kiln {args.device}: train failed: {first.strip()[:300]}"
            else:
                s = json.load(open(stats))
                result.update({"step_seconds": s.get("step_seconds"),
                               "device_name": s.get("device_name"), "isa": s.get("isa"),
                               "version": "kiln " + args.version,
                               "dispatches_per_step": s.get("dispatches_per_step")})
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


def machine():
    info = {"model": platform.processor() or "?", "logical_cpus": os.cpu_count()}
    try:
        lscpu = os.popen("lscpu 2>/dev/null").read()
        for key, name in (("Model name", "model"), ("CPU(s)", "logical_cpus"),
                          ("Thread(s) per core", "threads_per_core"),
                          ("Core(s) per socket", "cores_per_socket"), ("Socket(s)", "sockets")):
            m = re.search(rf"^{re.escape(key)}:\s*(.+)$", lscpu, re.M)
            if m:
                info[name] = m.group(1).strip()
    except OSError:
        pass
    flags, family, mhz = set(), None, None
    try:
        text = open("/proc/cpuinfo").read()
        m = re.search(r"^flags\s*:\s*(.*)$", text, re.M)
        flags = set(m.group(1).split()) if m else set()
        m = re.search(r"^cpu family\s*:\s*(\d+)", text, re.M)
        family = int(m.group(1)) if m else None
        mhz_values = [float(v) for v in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)]
        mhz = max(mhz_values) if mhz_values else None
    except OSError:
        pass
    clock_source = "/proc/cpuinfo cpu MHz"
    try:
        khz = int(open("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read())
        mhz, clock_source = khz / 1000, "/sys cpuinfo_max_freq"
    except (OSError, ValueError):
        pass
    vendor_amd = "AMD" in info.get("model", "") or "AMD" in open("/proc/cpuinfo").read()[:2000]
    if "avx512f" in flags:
        isa, lanes, pipes = "avx512", 16, 2
        if vendor_amd and family == 25:  # Zen 4: 512-bit FMAs run as two 256-bit halves
            pipes = 1
    elif "avx2" in flags and "fma" in flags:
        isa, lanes, pipes = "avx2+fma", 8, 2
    elif platform.machine() == "aarch64":
        isa, lanes, pipes = "neon", 4, 2
    else:
        isa, lanes, pipes = "sse", 4, 1
    if os.environ.get("FMA_PIPES"):
        pipes = int(os.environ["FMA_PIPES"])
    info.update({"isa": isa, "f32_lanes": lanes, "fma_pipes": pipes, "mhz": mhz,
                 "clock_source": clock_source, "cpu_family": family})
    if mhz:
        info["core_peak_gflops"] = pipes * lanes * 2 * mhz / 1000
    return info


def fmt_ms(seconds):
    return f"{seconds * 1000:.2f}"


def command_summary(args):
    runs = []
    for path in sorted(glob.glob(os.path.join(args.work, "results", "*.json"))):
        try:
            runs.append(json.load(open(path)))
        except (OSError, json.JSONDecodeError) as e:
            runs.append({"runner": os.path.basename(path), "error": f"unreadable: {e}"})
    m = json.load(open(os.path.join(args.work, "machine.json")))
    peak_core = m.get("core_peak_gflops")
    print(f"machine: {m.get('model')}, {m.get('logical_cpus')} logical CPUs "
          f"({m.get('threads_per_core', '?')} per core); {m['isa']}: {m['f32_lanes']} f32 lanes x "
          f"{m['fma_pipes']} FMA pipes x 2 flops x {m['mhz'] or 0:.0f} MHz ({m['clock_source']}) "
          f"= {peak_core or 0:.1f} GFLOP/s per core")
    print("step ms: the median over rounds of each run's median step time; GFLOP/s from the "
          "matmul flops below; % peak of the cores used (one per thread);")
    print("x kiln: the peer's step time over Kiln's cpu device's at the same thread count "
          "(above 1: Kiln is faster)")
    order = ["kiln-cpu", "kiln-lavapipe", "kiln-reference", "torch-eager", "torch-compile", "jax"]
    archs = []
    for r in runs:
        if r.get("arch") and r["arch"] not in archs:
            archs.append(r["arch"])
    for arch in archs:
        batch = int(next((r.get("batch") for r in runs if r.get("arch") == arch and r.get("batch")),
                         128))
        flops = flops_per_step(arch, batch)
        print()
        counted = ("nanoGPT's estimate: 6 flops per token per matmul parameter, 12 L T C per "
                   "token for attention" if arch == GPT_ARCH else
                   "3 matmuls of 2*B*in*out per layer, the first layer's dX not computed")
        print(f"model {arch}, batch {batch}, {model_description(arch)}: {flops / 1e6:.1f} "
              f"MFLOP per step ({counted})")
        cells = {}
        errors = {}
        versions = {}
        for r in runs:
            if r.get("arch") != arch:
                continue
            key = (r["runner"], int(r.get("threads", 0)))
            if "error" in r:
                errors.setdefault(key, r["error"])
            elif r.get("step_seconds") is not None:
                cells.setdefault(key, []).append(float(r["step_seconds"]))
                if r.get("version"):
                    versions[r["runner"]] = r["version"]
        keys = sorted(set(cells) | set(errors),
                      key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1]))
        print(f"  {'runner':16}{'threads':>8}{'step ms':>10}{'GFLOP/s':>10}{'% peak':>8}"
              f"{'x kiln':>8}  rounds")
        for key in keys:
            runner, threads = key
            if key not in cells:
                print(f"  {runner:16}{threads:>8}  {errors[key]}")
                continue
            median = statistics.median(cells[key])
            gflops = flops / median / 1e9
            peak = f"{100 * gflops / (peak_core * threads):.1f}" if peak_core and threads else "-"
            kiln = cells.get(("kiln-cpu", threads))
            ratio = f"{median / statistics.median(kiln):.2f}" if kiln and runner != "kiln-cpu" else "-"
            spread = " ".join(fmt_ms(s) for s in cells[key])
            print(f"  {runner:16}{threads:>8}{fmt_ms(median):>10}{gflops:>10.1f}{peak:>8}"
                  f"{ratio:>8}  {spread}")
            if key in errors:
                print(f"  {'':24}(also failed once: {errors[key]})")
        if versions:
            print("  versions: " + "; ".join(f"{k}: {v}" for k, v in sorted(versions.items())))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train")
    train.add_argument("--peer", required=True)
    train.add_argument("--arch", default="784-512-512-10")
    train.add_argument("--batch", type=int, default=128)
    train.add_argument("--steps", type=int, default=100)
    train.add_argument("--warmup", type=int, default=10)
    train.add_argument("--threads", type=int, default=1)
    train.add_argument("--out", required=True)
    kiln = sub.add_parser("kiln")
    kiln.add_argument("--kiln", default="kiln")
    kiln.add_argument("--plan", default="")
    kiln.add_argument("--device", default="cpu")
    kiln.add_argument("--runner", default="kiln-cpu")
    kiln.add_argument("--arch", required=True)
    kiln.add_argument("--batch", type=int, default=128)
    kiln.add_argument("--steps", type=int, default=100)
    kiln.add_argument("--threads", type=int, default=1)
    kiln.add_argument("--version", default="")
    kiln.add_argument("--error", default="")
    kiln.add_argument("--data", default="synthetic")
    kiln.add_argument("--out", required=True)
    sub.add_parser("machine")
    summary = sub.add_parser("summary")
    summary.add_argument("work")
    args = parser.parse_args()
    if args.command == "train":
        command_train(args)
    elif args.command == "kiln":
        command_kiln(args)
    elif args.command == "machine":
        print(json.dumps(machine(), indent=1))
    else:
        command_summary(args)


if __name__ == "__main__":
    main()
