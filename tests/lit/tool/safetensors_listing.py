# safetensors_listing.py - One line per tensor of a safetensors file (stdlib only):
# "name dtype [shape] sha256-of-bytes", sorted by name; with --only-of FILE2, only the
# tensors whose names FILE2 also holds. Used by the kiln export / --init-from lit tests.
import hashlib
import json
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        digest = hashlib.sha256(body[begin:end]).hexdigest()
        tensors[name] = (entry["dtype"], entry["shape"], digest)
    return tensors


tensors = read(sys.argv[1])
if len(sys.argv) == 4 and sys.argv[2] == "--only-of":
    wanted = read(sys.argv[3])
    tensors = {name: value for name, value in tensors.items() if name in wanted}
for name in sorted(tensors):
    dtype, shape, digest = tensors[name]
    print(name, dtype, shape, digest)
