#!/usr/bin/python3
"""cnn_reference.py - PyTorch's side of the CNN differential test.

Usage: /usr/bin/python3 cnn_reference.py DIR

DIR holds what the Kiln side wrote (tests/unit/pytorch/CnnDifferentialTest.cpp):
manifest.json, the initial parameters, the batches, and Kiln's results, all raw
little-endian arrays. This script rebuilds the same network with torch.nn

  Conv2d(1, W, 3, padding=1, bias=False) - BatchNorm2d(W) - ReLU - MaxPool2d(2)
  Conv2d(W, 2W, 3, padding=1, bias=False) - BatchNorm2d(2W) - ReLU - MaxPool2d(2)
  Flatten - Linear(2W * (side / 4)^2, classes)

(the weights loaded from Kiln's initial values, the batch norms in training mode
with PyTorch's defaults momentum 0.1 and eps 1e-5), runs the same optimizer on the
same batches in float32 on the CPU, and compares:

  mode "train":     the loss of every step (relative error <= loss_rtol), the
                    parameters and the batch norms' running statistics after the
                    last step (|a-b| <= atol + rtol|b|);
  mode "gradients": the loss and every parameter's gradient of one step.

It prints every mismatch and exits 1 when there is one, 2 when the input is
unusable or PyTorch is missing, 0 when all match.
"""

import sys

try:
    import torch
except ImportError as error:
    print(f"cnn_reference.py: cannot import PyTorch/numpy with {sys.executable}: {error}\n"
          "HINT: PyTorch is a declared dependency of Kiln's tests; install it with "
          "scripts/install-deps.sh (Debian's python3-torch).")
    sys.exit(2)

from exchange import load_initial, read_manifest  # noqa: E402 (after the guarded imports)
from mlp_reference import replay  # noqa: E402


def build_model(width, side, classes):
    """The network and the torch tensor behind each Kiln variable name."""
    nn = torch.nn
    conv1 = nn.Conv2d(1, width, 3, padding=1, bias=False)
    bn1 = nn.BatchNorm2d(width)
    conv2 = nn.Conv2d(width, 2 * width, 3, padding=1, bias=False)
    bn2 = nn.BatchNorm2d(2 * width)
    fc1 = nn.Linear(2 * width * (side // 4) * (side // 4), classes)
    model = nn.Sequential(conv1, bn1, nn.ReLU(), nn.MaxPool2d(2),
                          conv2, bn2, nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), fc1)
    parameters = {"conv1.weight": conv1.weight, "bn1.weight": bn1.weight, "bn1.bias": bn1.bias,
                  "conv2.weight": conv2.weight, "bn2.weight": bn2.weight, "bn2.bias": bn2.bias,
                  "fc1.weight": fc1.weight, "fc1.bias": fc1.bias}
    statistics = {"bn1.running_mean": bn1.running_mean, "bn1.running_var": bn1.running_var,
                  "bn2.running_mean": bn2.running_mean, "bn2.running_var": bn2.running_var}
    return model, parameters, statistics


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    directory = sys.argv[1]
    manifest = read_manifest(directory)

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model, parameters, statistics = build_model(manifest["width"], manifest["side"],
                                                manifest["classes"])
    model.train()
    problem = load_initial(directory, manifest, parameters)
    if problem:
        print(f"cnn_reference.py: {problem}")
        return 2

    return replay(directory, manifest, model, parameters, statistics)

if __name__ == "__main__":
    sys.exit(main())
