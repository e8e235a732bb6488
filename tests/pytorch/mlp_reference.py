#!/usr/bin/python3
"""mlp_reference.py - PyTorch's side of the MLP differential test.

Usage: /usr/bin/python3 mlp_reference.py DIR

DIR holds what the Kiln side wrote (tests/unit/pytorch/MlpDifferentialTest.cpp):
manifest.json, the initial parameters, the batches, and Kiln's results, all raw
little-endian arrays. This script rebuilds the same model with torch.nn (the
Linear weights loaded from Kiln's initial values), runs the same optimizer on
the same batches in float32 on the CPU, and compares:

  mode "train":     the loss of every step (relative error <= loss_rtol) and
                    the parameters after the last step (|a-b| <= atol + rtol|b|);
  mode "gradients": the loss and every parameter's gradient of one step.

It prints every mismatch (what, kiln, torch, error) and exits 1 when there is
one, 2 when the input is unusable or PyTorch is missing, 0 when all match.
"""

import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as error:
    print(f"mlp_reference.py: cannot import PyTorch/numpy with {sys.executable}: {error}\n"
          "HINT: PyTorch is a declared dependency of Kiln's tests; install it with "
          "scripts/install-deps.sh (Debian's python3-torch).")
    sys.exit(2)

from exchange import load, load_initial, read_manifest  # noqa: E402 (after the guarded imports)

MAX_REPORTED_ELEMENTS = 5


def build_model(widths):
    layers = []
    for index in range(len(widths) - 1):
        if index > 0:
            layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(widths[index], widths[index + 1]))
    return torch.nn.Sequential(*layers)


def kiln_parameters(model):
    """The torch parameter behind each Kiln variable name (fc1.weight, ...)."""
    linears = [layer for layer in model if isinstance(layer, torch.nn.Linear)]
    named = {}
    for index, linear in enumerate(linears, start=1):
        named[f"fc{index}.weight"] = linear.weight
        named[f"fc{index}.bias"] = linear.bias
    return named


def make_optimizer(config, parameters):
    kind = config["kind"]
    if kind == "sgd":
        return torch.optim.SGD(parameters, lr=config["learning_rate"],
                               momentum=config.get("momentum", 0.0),
                               nesterov=config.get("nesterov", False),
                               weight_decay=config.get("weight_decay", 0.0))
    if kind in ("adam", "adamw"):
        optimizer_class = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        return optimizer_class(parameters, lr=config["learning_rate"],
                               betas=(config.get("beta1", 0.9), config.get("beta2", 0.999)),
                               eps=config.get("epsilon", 1e-8),
                               weight_decay=config.get("weight_decay",
                                                       0.0 if kind == "adam" else 0.01))
    raise ValueError(f"unknown optimizer kind {kind!r}")


class Comparison:
    """Collects mismatches and the largest errors seen, for the report."""

    def __init__(self):
        self.mismatches = []
        self.largest = {}

    def scalar(self, what, kiln, reference, rtol):
        error = abs(kiln - reference) / max(abs(reference), 1e-30)
        self.largest[what.split("[")[0]] = max(self.largest.get(what.split("[")[0], 0.0), error)
        if not error <= rtol:
            self.mismatches.append(f"{what}: kiln {kiln:.9g} torch {reference:.9g} "
                                   f"rel err {error:.3g} > {rtol:g}")

    def tensor(self, what, kiln, reference, atol, rtol):
        kiln = kiln.astype(np.float64)
        reference = reference.astype(np.float64)
        excess = np.abs(kiln - reference) - (atol + rtol * np.abs(reference))
        worst = float(np.max(np.abs(kiln - reference) / (atol + rtol * np.abs(reference))))
        self.largest[what] = max(self.largest.get(what, 0.0), worst)
        bad = np.argwhere(~(excess <= 0))
        if bad.size == 0:
            return
        self.mismatches.append(f"{what}: {len(bad)} of {kiln.size} elements differ by more than "
                               f"{atol:g} + {rtol:g}|torch|")
        for index in bad[:MAX_REPORTED_ELEMENTS]:
            index = tuple(int(i) for i in index)
            self.mismatches.append(
                f"  {what}{list(index)}: kiln {kiln[index]:.9g} torch {reference[index]:.9g} "
                f"abs err {abs(kiln[index] - reference[index]):.3g}")


def replay(directory, manifest, model, parameters, statistics=None, batches=None, loss_of=None,
           optimizer=None, clip=None, summary=None):
    """Trains `model` (or differentiates it once) on the manifest's batches, compares losses,
    gradients or final parameters (and `statistics`, buffers by Kiln name) with Kiln's, prints
    the largest errors and returns the exit status: 0 when everything matches.

    By default the batches are the manifest's images and labels, the loss is the cross entropy
    of model(images) and the optimizer the manifest's; a caller with other inputs passes
    `batches` (a pair of per-step sequences), `loss_of(model, input, target)` and `optimizer`.
    With `clip`, the gradients are clipped to that global norm before each update, and the norm
    before clipping is compared with the manifest's kiln_grad_norms when it has them.
    `summary` describes the model in the report's first line."""
    if batches is None:
        batches = (torch.from_numpy(load(directory, manifest["images"])),
                   torch.from_numpy(load(directory, manifest["labels"]).astype(np.int64)))
    if loss_of is None:
        def loss_of(model, inputs, targets):
            return F.cross_entropy(model(inputs), targets)
    if optimizer is None:
        optimizer = make_optimizer(manifest["optimizer"], model.parameters())
    kiln_losses = load(directory, manifest["kiln_losses"])
    kiln_norms = (load(directory, manifest["kiln_grad_norms"])
                  if "kiln_grad_norms" in manifest else None)
    tolerances = manifest["tolerances"]

    comparison = Comparison()
    steps = manifest["steps"]
    clipped = 0
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_of(model, batches[0][step], batches[1][step])
        loss.backward()
        comparison.scalar(f"loss[step {step}]", float(kiln_losses[step]), loss.item(),
                          tolerances["loss_rtol"])
        if manifest["mode"] != "train":
            continue
        if clip is not None:
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip).item()
            clipped += norm > clip
            if kiln_norms is not None:
                comparison.scalar(f"grad_norm[step {step}]", float(kiln_norms[step]), norm,
                                  tolerances["norm_rtol"])
        optimizer.step()

    if manifest["mode"] == "gradients":
        for name, entry in manifest["kiln_gradients"].items():
            comparison.tensor(f"grad {name}", load(directory, entry),
                              parameters[name].grad.numpy(), tolerances["atol"],
                              tolerances["rtol"])
    else:
        for name, entry in manifest["kiln_final"].items():
            comparison.tensor(f"{name} after {steps} steps", load(directory, entry),
                              parameters[name].detach().numpy(), tolerances["atol"],
                              tolerances["rtol"])
        for name, entry in manifest.get("kiln_statistics", {}).items():
            comparison.tensor(f"{name} after {steps} steps", load(directory, entry),
                              statistics[name].numpy(), tolerances["atol"], tolerances["rtol"])

    described = f"{summary}, " if summary else ""
    clipping = (f", clip {clip} (active in {clipped} of {steps} steps)"
                if clip is not None and manifest["mode"] == "train" else "")
    print(f"torch {torch.__version__}, {described}{manifest['optimizer']['kind']}{clipping}, mode "
          f"{manifest['mode']}, {steps} step(s); largest errors (loss, grad_norm: relative; "
          "tensors: in units of the tolerance):")
    for what, error in comparison.largest.items():
        print(f"  {what}: {error:.3g}")
    if comparison.mismatches:
        print(f"{len(comparison.mismatches)} mismatch line(s):")
        print("\n".join(comparison.mismatches))
        return 1
    return 0


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    directory = sys.argv[1]
    manifest = read_manifest(directory)

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = build_model(manifest["widths"])
    parameters = kiln_parameters(model)
    problem = load_initial(directory, manifest, parameters)
    if problem:
        print(problem)
        return 1

    return replay(directory, manifest, model, parameters)

if __name__ == "__main__":
    sys.exit(main())
