#!/usr/bin/env bash
# bench/compile-time/run.sh: kiln compile's wall time against the number of ops.
#
# Generates chains of N graph.relu ops (x [128, 64] -> matmul with a trainable 64x64
# weight -> N relus -> softmax_cross_entropy with labels -> reduce_mean -> graph.minimize,
# SGD) for N in SIZES, and the sample MLPs 784-128-10 and 784-512-512-10 (SGD and Adam), and
# compiles each with every target (the default) and with --target vulkan, REPEAT times,
# printing the median wall time. The last column divides each chain's time by its op count:
# flat means linear growth. A compile slower than TIMEOUT seconds is cut off and shown as
# ">TIMEOUT".
#
# Usage: bench/compile-time/run.sh [--save]
#   --save   also write the table to bench/results/compile-time-cpu-<date>.txt
# Environment: SIZES (default "50 100 200 400 800 1600 3000"), REPEAT (default 3),
#              TIMEOUT (default 180), BUILD (default build),
#              WORK (scratch folder, default a fresh mktemp -d, removed at exit).
set -euo pipefail

save=0
for arg in "$@"; do
  case "$arg" in
    --save) save=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/${BUILD:-build}/bin"
sizes="${SIZES:-50 100 200 400 800 1600 3000}"
repeat="${REPEAT:-3}"
limit="${TIMEOUT:-180}"
for tool in kiln kiln-sample-mlp; do
  [[ -x "$bin/$tool" ]] || { echo "run.sh: $bin/$tool not found; build first (scripts/build.sh)" >&2; exit 1; }
done
if [[ -n "${WORK:-}" ]]; then
  work="$WORK"; mkdir -p "$work"
else
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fi

# chain N OUT: the relu-chain model.
chain() {
  local n=$1 out=$2 i
  {
    echo 'module @chain attributes {graph.optimizer = {kind = "sgd", learning_rate = 1.000000e-01 : f64, momentum = 0.000000e+00 : f64, nesterov = false, weight_decay = 0.000000e+00 : f64}} {'
    echo '  graph.variable @w trainable : tensor<64x64xf32> = #graph.init<uniform(-0.125, 0.125), seed = 0, stream = 0>'
    echo '  func.func @step() {'
    echo '    %x = graph.input "x" : tensor<128x64xf32>'
    echo '    %labels = graph.input "labels" : tensor<128xi32>'
    echo '    %w = graph.read @w : tensor<64x64xf32>'
    echo '    %r0 = graph.matmul %x, %w : tensor<128x64xf32>, tensor<64x64xf32> -> tensor<128x64xf32>'
    for ((i = 1; i <= n; i++)); do
      echo "    %r$i = graph.relu %r$((i - 1)) : tensor<128x64xf32>"
    done
    echo "    %ce = graph.softmax_cross_entropy %r$n, %labels : tensor<128x64xf32>, tensor<128xi32> -> tensor<128xf32>"
    echo '    %loss = graph.reduce_mean %ce [0] : tensor<128xf32> -> tensor<f32>'
    echo '    graph.output "loss", %loss : tensor<f32>'
    echo '    graph.minimize %loss : tensor<f32>'
    echo '    return'
    echo '  }'
    echo '}'
  } >"$out"
}

# seconds MODEL [kiln compile options]: the median wall time of REPEAT compiles, or >TIMEOUT.
seconds() {
  local model=$1; shift
  local times=() i start end
  for ((i = 0; i < repeat; i++)); do
    start=$(date +%s.%N)
    if ! timeout "$limit" "$bin/kiln" compile "$model" -o "$work/out.kplan" "$@" >/dev/null 2>"$work/err.txt"; then
      if [[ $? -eq 124 ]]; then echo ">$limit"; return; fi
      echo "run.sh: kiln compile $model $* failed:" >&2; cat "$work/err.txt" >&2; exit 1
    fi
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((repeat + 1) / 2))p" | xargs printf '%.2f'
}

table="$work/table.txt"
{
  echo "kiln compile wall time (median of $repeat), $(nproc) CPU cores, $(date -u +%Y-%m-%d)"
  echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  printf '%-26s %10s %10s %14s\n' "model" "all (s)" "vulkan (s)" "all ms per op"
  for n in $sizes; do
    chain "$n" "$work/chain-$n.mlir"
    all=$(seconds "$work/chain-$n.mlir")
    vulkan=$(seconds "$work/chain-$n.mlir" --target vulkan)
    per="-"
    [[ "$all" != ">"* ]] && per=$(echo "scale=2; 1000 * $all / $n" | bc)
    printf '%-26s %10s %10s %14s\n' "relu chain, $n ops" "$all" "$vulkan" "$per"
  done
  for arch in 784-128-10 784-512-512-10; do
    for optimizer in sgd adam; do
      "$bin/kiln-sample-mlp" --arch "$arch" --optimizer "$optimizer" -o "$work/mlp.mlir"
      printf '%-26s %10s %10s %14s\n' "mlp $arch $optimizer" "$(seconds "$work/mlp.mlir")" \
        "$(seconds "$work/mlp.mlir" --target vulkan)" "-"
    done
  done
} | tee "$table"

if ((save)); then
  out="$root/bench/results/compile-time-cpu-$(date -u +%Y-%m-%d).txt"
  cp "$table" "$out"
  echo "wrote $out"
fi
