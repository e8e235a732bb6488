#!/usr/bin/env bash
# demo.sh: the README's main job. Installs what Kiln needs, builds it, compiles the sample
# MLP (784-128-10, Adam) to a plan for every target (--target all) and trains it on
# Fashion-MNIST on the best device present (--device auto: a GPU through CUDA or Vulkan, else
# the native CPU target when the plan carries CPU code, else Mesa's lavapipe on the CPU),
# printing the device chosen and why, loss and test accuracy.
#
# Usage: scripts/demo.sh [extra kiln train flags, e.g. --epochs 2 or --device reference]
# Writes its files to ./demo-out (model .mlir, .kplan, stats JSON).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KILN_BUILD_DIR:-$root/build}
out=$root/demo-out

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" kiln kiln-sample-mlp
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
mkdir -p "$out"

"$build/bin/kiln-sample-mlp" --arch 784-128-10 --batch 128 --optimizer adam --lr 0.001 \
  --print-locations -o "$out/mlp.mlir"
"$build/bin/kiln" compile "$out/mlp.mlir" --target all -o "$out/mlp.kplan"
device=(--device auto)
for arg in "$@"; do
  case "$arg" in --device | --device=*) device=() ;; esac
done
"$build/bin/kiln" train "$out/mlp.kplan" --data fashion-mnist --steps 600 --log-every 50 \
  --stats-json "$out/stats.json" "${device[@]}" "$@"
echo "demo: plan, module and stats are in $out"
