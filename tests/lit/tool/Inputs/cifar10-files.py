"""Writes small CIFAR-10 binary-version files that a model can learn from.

  cifar10-files.py DIR [--per-batch N] [--test N] [--seed S]

DIR gets data_batch_1.bin .. data_batch_5.bin (N records each) and test_batch.bin, in the
layout of the real cifar-10-batches-bin files: records of 1 label byte (0..9) and 3072 pixel
bytes, the 32x32 red, green and blue planes in turn, row-major. Image of label k: uniform noise
in 0..99 with rows 3k..3k+2 of every plane bright (200..255), so a small convolutional network
separates the classes within a few dozen steps, while the labels stay balanced (record r has
label (r + file) % 10).
"""

import argparse
import os
import random


def record(label, rng):
    pixels = bytearray(3 * 32 * 32)
    for channel in range(3):
        for row in range(32):
            bright = 3 * label <= row < 3 * label + 3
            for col in range(32):
                pixels[channel * 1024 + row * 32 + col] = (
                    rng.randrange(200, 256) if bright else rng.randrange(100))
    return bytes([label]) + bytes(pixels)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir")
    parser.add_argument("--per-batch", type=int, default=16)
    parser.add_argument("--test", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.dir, exist_ok=True)
    files = [(f"data_batch_{i}.bin", args.per_batch) for i in range(1, 6)]
    files.append(("test_batch.bin", args.test))
    for index, (name, count) in enumerate(files):
        with open(os.path.join(args.dir, name), "wb") as f:
            for r in range(count):
                f.write(record((r + index) % 10, rng))


if __name__ == "__main__":
    main()
