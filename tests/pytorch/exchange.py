"""exchange.py - Reading what Kiln's differential tests hand to PyTorch.

The C++ side (tests/unit/pytorch/PyTorchExchange.h) writes raw little-endian arrays and a
manifest.json describing each as {"file", "dtype", "shape"}; the scripts beside this file
read them with read_manifest(), load() and load_initial().
"""

import json
import os

import numpy as np


def load(directory, entry):
    """The array `entry` ({"file", "dtype", "shape"}) describes."""
    dtype = {"f32": "<f4", "i32": "<i4"}[entry["dtype"]]
    array = np.fromfile(os.path.join(directory, entry["file"]), dtype=dtype)
    expected = int(np.prod(entry["shape"])) if entry["shape"] else 1
    if array.size != expected:
        raise ValueError(f"{entry['file']} holds {array.size} values but its shape "
                         f"{entry['shape']} needs {expected}")
    return array.reshape(entry["shape"])


def read_manifest(directory):
    """The manifest.json of `directory`."""
    with open(os.path.join(directory, "manifest.json")) as file:
        return json.load(file)


def load_initial(directory, manifest, parameters):
    """Copies the manifest's "initial" values into `parameters` (torch tensors by Kiln name).
    Returns None, or a message naming the parameters only one side has."""
    import torch

    torch_only = sorted(set(parameters) - set(manifest["initial"]))
    kiln_only = sorted(set(manifest["initial"]) - set(parameters))
    if torch_only or kiln_only:
        return f"parameter names differ: torch only {torch_only}, kiln only {kiln_only}"
    with torch.no_grad():
        for name, entry in manifest["initial"].items():
            parameters[name].copy_(torch.from_numpy(load(directory, entry)))
    return None
