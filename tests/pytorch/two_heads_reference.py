#!/usr/bin/python3
"""two_heads_reference.py - PyTorch's side of the two-head Adam differential test.

Usage: /usr/bin/python3 two_heads_reference.py DIR

DIR holds what tests/unit/vulkan_ops/TwoHeadDifferentialTest.cpp wrote: manifest.json,
the initial parameters, the batches, and one device's losses and final parameters, all
raw little-endian arrays. The model is a shared trunk (matmul + bias + relu) feeding a
classifier head (matmul + bias, softmax cross entropy) and a regression head (matmul,
mean squared error against the "targets"); the loss is ce + 0.5 * mse. This script
trains it with torch.optim.Adam at its default hyperparameters (lr 1e-3, betas
(0.9, 0.999), eps 1e-8) in float32 on the CPU from the same initial values on the same
batches and compares the loss of every step (relative error <= loss_rtol) and the
parameters after the last step (|kiln - torch| <= atol).

It prints the largest errors, then every mismatch, and exits 1 when there is one, 2 when
the input is unusable or PyTorch is missing, 0 when all match.
"""

import json
import os
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as error:
    print(f"two_heads_reference.py: cannot import PyTorch/numpy with {sys.executable}: "
          f"{error}\nHINT: PyTorch is a declared dependency of Kiln's tests; install it with "
          "scripts/install-deps.sh (Debian's python3-torch).")
    sys.exit(2)

from exchange import load  # noqa: E402 (after the guarded imports)


def loss_of(parameters, features, labels, targets):
    hidden = F.relu(features @ parameters["trunk.weight"].T + parameters["trunk.bias"])
    logits = hidden @ parameters["classifier.weight"].T + parameters["classifier.bias"]
    prediction = hidden @ parameters["regressor.weight"].T
    return F.cross_entropy(logits, labels) + 0.5 * F.mse_loss(prediction, targets)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    directory = sys.argv[1]
    with open(os.path.join(directory, "manifest.json")) as file:
        manifest = json.load(file)
    torch.set_num_threads(1)

    parameters = {name: torch.tensor(load(directory, entry), requires_grad=True)
                  for name, entry in manifest["initial"].items()}
    features = torch.from_numpy(load(directory, manifest["features"]))
    labels = torch.from_numpy(load(directory, manifest["labels"]).astype(np.int64))
    targets = torch.from_numpy(load(directory, manifest["targets"]))
    kiln_losses = load(directory, manifest["kiln_losses"])
    loss_rtol = manifest["tolerances"]["loss_rtol"]
    atol = manifest["tolerances"]["atol"]
    optimizer = torch.optim.Adam(parameters.values())

    mismatches = []
    worst_loss = 0.0
    steps = manifest["steps"]
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_of(parameters, features[step], labels[step], targets[step])
        loss.backward()
        optimizer.step()
        kiln, reference = float(kiln_losses[step]), loss.item()
        error = abs(kiln - reference) / abs(reference)
        worst_loss = max(worst_loss, error)
        if not error <= loss_rtol:
            mismatches.append(f"loss[step {step}]: kiln {kiln:.9g} torch {reference:.9g} "
                              f"rel err {error:.3g} > {loss_rtol:g}")

    worst_parameter = {}
    for name, entry in manifest["kiln_final"].items():
        kiln = load(directory, entry).astype(np.float64)
        reference = parameters[name].detach().numpy().astype(np.float64)
        difference = np.abs(kiln - reference)
        worst_parameter[name] = float(np.max(difference))
        bad = np.argwhere(~(difference <= atol))
        if bad.size:
            mismatches.append(f"{name} after {steps} steps: {len(bad)} of {kiln.size} elements "
                              f"differ by more than {atol:g}")
            for index in bad[:5]:
                index = tuple(int(i) for i in index)
                mismatches.append(f"  {name}{list(index)}: kiln {kiln[index]:.9g} "
                                  f"torch {reference[index]:.9g}")

    print(f"torch {torch.__version__}, {manifest['device']}, Adam (defaults), {steps} steps; "
          f"largest loss error {worst_loss:.3g} relative; largest parameter errors (absolute):")
    for name, error in worst_parameter.items():
        print(f"  {name}: {error:.3g}")
    if mismatches:
        print(f"{len(mismatches)} mismatch line(s):")
        print("\n".join(mismatches))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
