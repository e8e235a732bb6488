#!/usr/bin/env bash
# Bit-exact resume of `kiln train`: 40 uninterrupted steps must give exactly the losses of
# 20 steps, a checkpoint, and 20 resumed steps (steps 21..40), on the reference device and
# on Vulkan (lavapipe). Also checks that a checkpoint of another plan is refused.
# Usage: resume_test.sh KILN KILN_SAMPLE_MLP
set -euo pipefail
kiln=$1
sample=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

"$sample" --arch 784-16-10 --batch 16 --optimizer adam -o mlp.mlir
"$kiln" compile mlp.mlir -o mlp.kplan >/dev/null
"$sample" --arch 784-8-10 --batch 16 --optimizer adam -o other.mlir
"$kiln" compile other.mlir -o other.kplan >/dev/null

# The losses of a stats JSON file, one per line, with the number of the first.
losses() {
  /usr/bin/python3 -c '
import json, sys
stats = json.load(open(sys.argv[1]))
first = stats["first_step"]
for i, loss in enumerate(stats["loss"]):
    print(first + i, repr(loss))
' "$1"
}

check_device() {
  local device=$1
  local train=("$kiln" train mlp.kplan --data synthetic --device "$device" --log-every 0)
  "${train[@]}" --steps 40 --stats-json "a-$device.json" >/dev/null
  "${train[@]}" --steps 20 --checkpoint "c-$device.safetensors" --stats-json "p-$device.json" >/dev/null
  "${train[@]}" --steps 40 --resume "c-$device.safetensors" --stats-json "b-$device.json" >/dev/null
  losses "a-$device.json" | sed -n '21,40p' >"expected-$device.txt"
  losses "b-$device.json" >"resumed-$device.txt"
  if [[ $(wc -l <"resumed-$device.txt") -ne 20 ]]; then
    echo "FAIL ($device): the resumed run did not train steps 21..40" >&2
    cat "resumed-$device.txt" >&2
    exit 1
  fi
  if ! diff "expected-$device.txt" "resumed-$device.txt" >&2; then
    echo "FAIL ($device): resumed losses differ from the uninterrupted run (above)" >&2
    exit 1
  fi
  # The first 20 steps of both runs agree too (same seed, same device).
  if ! diff <(losses "a-$device.json" | sed -n '1,20p') <(losses "p-$device.json") >&2; then
    echo "FAIL ($device): two runs of the same 20 steps differ" >&2
    exit 1
  fi
  echo "ok ($device): steps 21..40 bit-identical after resume"
}

check_device reference
# Lavapipe (Mesa's CPU Vulkan driver) is part of the build environment, so Vulkan is required.
check_device vulkan

# A checkpoint of another plan is refused with the message naming both hashes.
if "$kiln" train other.kplan --data synthetic --device reference --steps 40 \
    --resume c-reference.safetensors >/dev/null 2>refused.txt; then
  echo "FAIL: resuming another plan's checkpoint succeeded" >&2
  exit 1
fi
if ! grep -q "was written for plan .*, but this plan is .*; resume with the plan it was trained with" refused.txt; then
  echo "FAIL: unexpected refusal message:" >&2
  cat refused.txt >&2
  exit 1
fi
echo "ok: another plan's checkpoint is refused"
