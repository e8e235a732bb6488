#!/usr/bin/env bash
# bench/peers/run.sh: Kiln against PyTorch and JAX, training the same models on the same CPU.
#
# For each model in MODELS (the MLPs 784-512-512-10 "W1" and 784-128-10: ReLU, mean softmax
# cross entropy, Adam lr 1e-3; cnn: samples/cnn's Fashion-MNIST CNN, two 3x3 conv + batch
# norm + ReLU + max pool blocks and a 3136->10 linear layer, SGD with momentum; batch 128,
# synthetic data; gpt: samples/gpt's char-level GPT, 4 layers, 4 heads, width 128, context 64,
# batch 12, AdamW with clipping, Kiln fed from GPT_TEXT and the peers random bytes), runs
# in round-robin rounds so that all runners share the machine's load
# alike: Kiln's cpu device (kiln compile --target cpu, kiln train --device cpu --threads T),
# PyTorch eager and torch.compile (torch.set_num_threads), and JAX jit (XLA_FLAGS for one
# thread), each at every thread count in THREADS and pinned to that many cores with taskset;
# Kiln on lavapipe (LP_NUM_THREADS) with LAVAPIPE=1, Kiln's
# reference device with REFERENCE=1. Every runner trains WARMUP + STEPS steps; PyTorch and JAX
# time the last STEPS (the first ones compile), Kiln reports the median host step time of all
# of them (--stats-json step_seconds). Prints the median over rounds of each run's median step
# time, GFLOP/s, the fraction of the f32 peak of the cores used and each peer's time over
# Kiln's. A runner that fails (a plan that does not compile for cpu, a peer not installed)
# is reported with its first error line, not fatal.
#
# Usage: bench/peers/run.sh [--save]
#   --save   also write the summary and raw logs to bench/results/peers-cpu-<date>.txt
# Environment: STEPS (default 100), WARMUP (default 10), ROUNDS (default 3),
#   MODELS (default "784-512-512-10 784-128-10 cnn gpt"),
#   THREADS (default "1 2"),
#   GPT_TEXT (the text Kiln's GPT trains on, default /usr/share/games/fortunes/cookie),
#   PEERS (default "torch-eager torch-compile jax"), LAVAPIPE=1, REFERENCE=1,
#   PYTHON (default bench/.venv/bin/python, made by `bench/peers/run.sh --install`),
#   FMA_PIPES (override the FMA pipes per core of the peak), BUILD (default build),
#   WORK (scratch folder, default a fresh mktemp -d, removed at exit).
#   --install  create bench/.venv and pip install torch jax jaxlib numpy into it, then exit
set -euo pipefail

save=0
install=0
for arg in "$@"; do
  case "$arg" in
    --save) save=1 ;;
    --install) install=1 ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/bench/peers"
venv="$root/bench/.venv"
if ((install)); then
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  "$venv/bin/pip" install --progress-bar off torch jax jaxlib numpy
  exit 0
fi

bin="$root/${BUILD:-build}/bin"
steps="${STEPS:-100}"
warmup="${WARMUP:-10}"
rounds="${ROUNDS:-3}"
models="${MODELS:-784-512-512-10 784-128-10 cnn gpt}"
threads_list="${THREADS:-1 2}"
peers="${PEERS:-torch-eager torch-compile jax}"
gpt_text="${GPT_TEXT:-/usr/share/games/fortunes/cookie}"
# The batch of each model: samples/gpt's 12 for the GPT, 128 for the others.
batch_of() { if [[ "$1" == gpt ]]; then echo 12; else echo 128; fi; }
# What Kiln trains each model on.
data_of() { if [[ "$1" == gpt ]]; then echo "text:$gpt_text"; else echo synthetic; fi; }
python="${PYTHON:-$venv/bin/python}"
if [[ ! -x "$python" ]]; then
  echo "run.sh: $python not found: PyTorch and JAX will be reported absent" \
    "(bench/peers/run.sh --install makes bench/.venv)" >&2
  python=python3
fi
# The sample that writes each model's module: kiln-sample-cnn for cnn, kiln-sample-gpt for gpt,
# kiln-sample-mlp for widths.
sample_of() {
  case "$1" in
    cnn) echo kiln-sample-cnn ;;
    gpt) echo kiln-sample-gpt ;;
    *) echo kiln-sample-mlp ;;
  esac
}
for tool in kiln $(for arch in $models; do sample_of "$arch"; done | sort -u); do
  [[ -x "$bin/$tool" ]] || { echo "run.sh: $bin/$tool not found; build first (scripts/build.sh)" >&2; exit 1; }
done

if [[ -n "${WORK:-}" ]]; then
  work="$WORK"; mkdir -p "$work"
else
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/results" "$work/plans"
rm -f "$work"/results/*
log="$work/log.txt"
: >"$log"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$work}"
version="$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# The cores this process may use, in order; a run of T threads is pinned to the first T.
mapfile -t cores < <(python3 -c 'import os; print("\n".join(map(str, sorted(os.sched_getaffinity(0)))))')
pin() {
  local threads="$1"
  if ((threads > ${#cores[@]})); then return 1; fi
  if command -v taskset >/dev/null; then
    local list; list="$(IFS=,; echo "${cores[*]:0:threads}")"
    echo taskset -c "$list"
  fi
}

# Plans: one per model and Kiln target; a plan that does not compile keeps its first error.
declare -A plan_error
for arch in $models; do
  mlir="$work/plans/$arch.mlir"
  batch="$(batch_of "$arch")"
  if [[ "$arch" == cnn ]]; then
    # The optimizer is the one peers.py's CNN uses (CNN_LR, CNN_MOMENTUM there).
    sample_args=(--batch "$batch" --dropout 0 --lr 0.05 --momentum 0.9)
  elif [[ "$arch" == gpt ]]; then
    # kiln-sample-gpt's defaults are peers.py's GPT (GPT, GPT_LR ... there).
    sample_args=(--batch "$batch")
  else
    sample_args=(--arch "$arch" --batch "$batch" --optimizer adam --lr 0.001)
  fi
  echo "\$ $(sample_of "$arch") ${sample_args[*]}" >>"$log"
  "$bin/$(sample_of "$arch")" "${sample_args[@]}" -o "$mlir" >>"$log" 2>&1
  for target in cpu vulkan; do
    [[ "$target" == vulkan && "${LAVAPIPE:-0}" != 1 && "${REFERENCE:-0}" != 1 ]] && continue
    echo "\$ kiln compile $arch --target $target" >>"$log"
    if ! "$bin/kiln" compile "$mlir" --target "$target" -o "$work/plans/$arch.$target.kplan" \
      >"$work/compile.txt" 2>&1; then
      first="$(grep -m1 -i 'error' "$work/compile.txt" || head -1 "$work/compile.txt")"
      plan_error[$arch.$target]="kiln $target: plan does not compile for $target: ${first#error: }"
    fi
    cat "$work/compile.txt" >>"$log"
  done
done

"$python" "$here/peers.py" machine >"$work/machine.json" 2>>"$log" ||
  python3 "$here/peers.py" machine >"$work/machine.json"

# kiln_run NAME DEVICE TARGET ARCH THREADS ROUND
kiln_run() {
  local name="$1" device="$2" target="$3" arch="$4" threads="$5" round="$6"
  local out="$work/results/$name-$arch-t$threads-r$round.json"
  local -a taskset_cmd=()
  read -r -a taskset_cmd <<<"$(pin "$threads" || true)"
  echo "\$ [$name $arch t$threads round $round]" >>"$log"
  "${taskset_cmd[@]}" python3 "$here/peers.py" kiln --kiln "$bin/kiln" \
    --plan "$work/plans/$arch.$target.kplan" --device "$device" --runner "$name" --arch "$arch" \
    --batch "$(batch_of "$arch")" --steps "$((warmup + steps))" --threads "$threads" \
    --version "$version" --data "$(data_of "$arch")" --error "${plan_error[$arch.$target]:-}" \
    --out "$out" >>"$log" 2>&1 || true
  if [[ -f "$out.log" ]]; then cat "$out.log" >>"$log"; rm -f "$out.log"; fi
}

# peer_run PEER ARCH THREADS ROUND
peer_run() {
  local peer="$1" arch="$2" threads="$3" round="$4"
  local out="$work/results/$peer-$arch-t$threads-r$round.json"
  local -a taskset_cmd=()
  read -r -a taskset_cmd <<<"$(pin "$threads" || true)"
  local xla=""
  if ((threads == 1)); then
    xla="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
  fi
  echo "\$ [$peer $arch t$threads round $round]" >>"$log"
  XLA_FLAGS="$xla" OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" \
    TORCHINDUCTOR_CACHE_DIR="$work/inductor-cache" \
    "${taskset_cmd[@]}" "$python" "$here/peers.py" train --peer "$peer" --arch "$arch" \
    --batch "$(batch_of "$arch")" --steps "$steps" --warmup "$warmup" --threads "$threads" --out "$out" \
    >>"$log" 2>&1 ||
    echo "{\"runner\": \"$peer\", \"arch\": \"$arch\", \"threads\": $threads, \"error\": \"failed: exit $? (see the log)\"}" >"$out"
}

for ((round = 1; round <= rounds; round++)); do
  echo "run.sh: round $round of $rounds" >&2
  for arch in $models; do
    for threads in $threads_list; do
      if ! pin "$threads" >/dev/null; then
        echo "run.sh: skipping $threads threads: only ${#cores[@]} cores here" >&2; continue
      fi
      kiln_run kiln-cpu cpu cpu "$arch" "$threads" "$round"
      if [[ "${LAVAPIPE:-0}" == 1 ]]; then
        kiln_run kiln-lavapipe vulkan vulkan "$arch" "$threads" "$round"
      fi
      for peer in $peers; do peer_run "$peer" "$arch" "$threads" "$round"; done
    done
    if [[ "${REFERENCE:-0}" == 1 ]]; then
      kiln_run kiln-reference reference vulkan "$arch" 1 "$round"
    fi
  done
done

summary="$(python3 "$here/peers.py" summary "$work")"
header="# bench/peers/run.sh (STEPS=$steps WARMUP=$warmup ROUNDS=$rounds MODELS=\"$models\" THREADS=\"$threads_list\" PEERS=\"$peers\" LAVAPIPE=${LAVAPIPE:-0} REFERENCE=${REFERENCE:-0}) $(date -u +%Y-%m-%dT%H:%M:%SZ), kiln $version
# load average (1, 5, 15 min) before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$header"
echo "$summary"

if ((save)); then
  mkdir -p "$root/bench/results"
  out="$root/bench/results/peers-cpu-$(date +%Y-%m-%d).txt"
  { echo "$header"
    echo "# lscpu: $(lscpu | grep -m1 'Model name' | sed 's/  */ /g'); $(nproc) cores usable"
    echo "$summary"; echo; echo "# machine.json"; cat "$work/machine.json"
    echo; echo "# raw log"; cat "$log"
    for f in "$work"/results/*.json; do echo "# $(basename "$f")"; cat "$f"; echo; done
  } >"$out"
  echo "saved $out"
fi
