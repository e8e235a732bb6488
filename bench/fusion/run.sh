#!/usr/bin/env bash
# bench/fusion/run.sh: fused vs. unfused training steps on the best Vulkan device.
#
# Compiles the 784-512-512-10 MLP (Adam, batch 128) twice, with kiln-fuse (the default) and
# with --no-fusion, both for the Vulkan target only, then trains each plan on synthetic data
# for STEPS steps, alternating fused and unfused runs ROUNDS times so both see the same
# machine load. Prints one table with the plans' and the runs' numbers and the
# unfused/fused step-time ratio, all measured in this one invocation.
#
# Usage: bench/fusion/run.sh [--save]
#   --save   also write the raw logs and the summary to
#            bench/results/fusion-<device>-<date>.txt
# Environment: STEPS (default 20), ROUNDS (default 2), BUILD (default build),
#              WORK (scratch folder, default a fresh mktemp -d, removed at exit).
set -euo pipefail

save=0
for arg in "$@"; do
  case "$arg" in
    --save) save=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/${BUILD:-build}/bin"
steps="${STEPS:-20}"
rounds="${ROUNDS:-2}"
arch="784-512-512-10"
batch=128
for tool in kiln kiln-sample-mlp; do
  [[ -x "$bin/$tool" ]] || { echo "run.sh: $bin/$tool not found; build first (scripts/build.sh)" >&2; exit 1; }
done

if [[ -n "${WORK:-}" ]]; then
  work="$WORK"; mkdir -p "$work"
else
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fi
log="$work/log.txt"
: >"$log"

# run CMD...: echo the command into the log, run it, keep its output in the log.
run() {
  echo "\$ $*" >>"$log"
  "$@" >>"$log" 2>&1 || { echo "run.sh: failed: $*" >&2; tail -20 "$log" >&2; exit 1; }
}

run "$bin/kiln-sample-mlp" --arch "$arch" --batch "$batch" --optimizer adam --print-locations \
  -o "$work/mlp.mlir"
run "$bin/kiln" compile "$work/mlp.mlir" -o "$work/fused.kplan" --target vulkan
run "$bin/kiln" compile "$work/mlp.mlir" -o "$work/unfused.kplan" --target vulkan --no-fusion

for ((round = 1; round <= rounds; round++)); do
  for variant in fused unfused; do
    run "$bin/kiln" train "$work/$variant.kplan" --data synthetic --steps "$steps" \
      --device vulkan --log-every "$steps" --stats-json "$work/$variant-$round.json"
  done
done

summary="$(python3 - "$work" "$rounds" "$steps" <<'PY'
import json, statistics, sys

work, rounds, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
variants = ("fused", "unfused")
runs = {v: [json.load(open(f"{work}/{v}-{r}.json")) for r in range(1, rounds + 1)] for v in variants}

def median(variant, key):
    values = [run[key] for run in runs[variant] if run.get(key) is not None]
    return statistics.median(values) if values else None

def same(variant, key):
    values = {run[key] for run in runs[variant]}
    return values.pop() if len(values) == 1 else "varies: " + ", ".join(map(str, sorted(values)))

device = runs["fused"][0]["device_name"]
print(f"device: {device} ({runs['fused'][0]['device_type']})")
print(f"model: MLP 784-512-512-10, Adam, batch 128; {steps} steps per run, {rounds} round(s) "
      "of fused then unfused; times are the median over rounds of each run's median")
rows = [
    ("dispatches per step", "dispatches_per_step", "{:g}"),
    ("kernels", "kernels", "{}"),
    ("arena_bytes", "arena_bytes", "{:,}"),
    ("peak_live_bytes", "peak_live_bytes", "{:,}"),
    ("naive_bytes", "naive_bytes", "{:,}"),
]
print(f"{'':24}{'fused':>16}{'unfused':>16}")
for label, key, fmt in rows:
    cells = [same(v, key) for v in variants]
    print(f"{label:24}" + "".join(f"{fmt.format(c) if not isinstance(c, str) else c:>16}" for c in cells))
ratios = {}
for label, key in (("step seconds (host)", "step_seconds"), ("step seconds (GPU)", "gpu_step_seconds")):
    cells = [median(v, key) for v in variants]
    if None in cells:
        print(f"{label:24}{'n/a':>16}{'n/a':>16}")
        continue
    print(f"{label:24}" + "".join(f"{c:>16.4f}" for c in cells))
    ratios[label] = cells[1] / cells[0] if cells[0] > 0 else float("nan")
for label, ratio in ratios.items():
    print(f"unfused/fused {label}: {ratio:.2f}x")
PY
)"
echo "$summary"

if ((save)); then
  device="$(python3 -c 'import json,re,sys; print(re.sub(r"[^a-z0-9]+", "-", json.load(open(sys.argv[1]))["device_name"].split(" (")[0].lower()).strip("-"))' "$work/fused-1.json")"
  mkdir -p "$root/bench/results"
  out="$root/bench/results/fusion-$device-$(date +%Y-%m-%d).txt"
  { echo "# bench/fusion/run.sh (STEPS=$steps ROUNDS=$rounds) $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "$summary"; echo; echo "# raw log"; cat "$log"
    for f in "$work"/*.json; do echo "# $(basename "$f")"; cat "$f"; echo; done
  } >"$out"
  echo "saved $out"
fi
