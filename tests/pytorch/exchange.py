"""exchange.py - Reading what Kiln's differential tests hand to PyTorch.

The C++ side (tests/unit/pytorch/PyTorchExchange.h) writes raw little-endian arrays and a
manifest.json describing each as {"file", "dtype", "shape"}; the scripts beside this file
read them with load().
"""

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
