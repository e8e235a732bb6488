#!/usr/bin/env bash
# fuzz.sh: runs one of Kiln's libFuzzer targets (tests/fuzz) for a while, from generated seeds.
#
# Usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
#        scripts/fuzz.sh --help
# TARGET is one of: plan safetensors idx cifar10 cpuimage mlir
#   plan         plan::decodePlanFile (.kplan header, protobuf payload, plan validation)
#   safetensors  checkpoint::decodeSafetensors, then validateCheckpoint against a sample plan
#   idx          data::readIdxImages / readIdxLabels / loadMnist (raw or gzip IDX)
#   cifar10      data::loadCifar10 (raw or gzip CIFAR-10 binary batches)
#   cpuimage     cpu::CodeImage::load (the ELF checks and mapping of a plan's native code)
#   mlir         the .mlir entry of kiln compile: nesting scan, parse and verify
# The runtime targets are built in build-asan/ (KILN_RUNTIME_ONLY + KILN_SANITIZE: ASan + UBSan),
# the mlir target in build/ (KILN_BUILD_DIR); this script builds the target first. Seeds come from
# kiln-fuzz-seeds (the unit tests' helpers), tests/lit's .mlir files and a sample plan compiled by
# build/bin/kiln when it exists. The corpus grows in $KILN_FUZZ_DIR/corpus/TARGET (default
# build-asan/fuzz), findings land in $KILN_FUZZ_DIR/findings/TARGET (crash-*, leak-*, ...).
# Exits non-zero on any finding: a crash, a leak, a UBSan report, a timeout or running out of
# memory. Reproduce one with: build-asan/tests/fuzz/kiln-fuzz-TARGET FILE.
# Environment: KILN_FUZZ_JOBS (default 1) parallel workers (-fork), KILN_ASAN_BUILD_DIR,
# KILN_FUZZ_NO_BUILD=1 (the targets are already built: scripts/test.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
asan=${KILN_ASAN_BUILD_DIR:-$root/build-asan}
build=${KILN_BUILD_DIR:-$root/build}
work=${KILN_FUZZ_DIR:-$asan/fuzz}

usage() { sed -n '2,/^set -e/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
if [ $# -lt 1 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  usage
  [ $# -ge 1 ] && exit 0 || exit 2
fi
[ $# -ge 2 ] || { usage >&2; exit 2; }
target=$1
seconds=$2
shift 2
case "$seconds" in '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;; esac

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.ccache}
export CCACHE_BASEDIR=$root
configure_asan() {
  if [ ! -f "$asan/build.ninja" ]; then
    cmake -G Ninja -S "$root" -B "$asan" -DKILN_RUNTIME_ONLY=ON -DKILN_SANITIZE=ON -DKILN_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 >/dev/null
  fi
}

build_targets() {
  [ "${KILN_FUZZ_NO_BUILD:-0}" = 1 ] && return 0
  configure_asan
  ninja -C "$asan" "$@" kiln-fuzz-seeds >/dev/null
}
case "$target" in
  plan | safetensors | idx | cifar10 | cpuimage)
    build_targets "kiln-fuzz-$target"
    binary=$asan/tests/fuzz/kiln-fuzz-$target ;;
  mlir)
    build_targets
    [ "${KILN_FUZZ_NO_BUILD:-0}" = 1 ] || "$root/scripts/build.sh" kiln-fuzz-mlir >/dev/null
    binary=$build/bin/kiln-fuzz-mlir ;;
  *) echo "fuzz.sh: unknown target '$target' (plan, safetensors, idx, cifar10, cpuimage, mlir)" >&2; exit 2 ;;
esac

seeds=$work/seeds
corpus=$work/corpus/$target
findings=$work/findings/$target
mkdir -p "$corpus" "$findings"
if [ ! -f "$seeds/.complete" ]; then
  "$asan/tests/fuzz/kiln-fuzz-seeds" "$seeds"
  mkdir -p "$seeds/mlir"
  find "$root/tests/lit" -name '*.mlir' | while read -r f; do
    cp "$f" "$seeds/mlir/$(echo "${f#"$root"/tests/lit/}" | tr / _)"
  done
  # A real compiled plan (SPIR-V kernels and all), when the main build has kiln.
  if [ -x "$build/bin/kiln" ]; then
    "$build/bin/kiln" compile "$root/tests/lit/tool/Inputs/extra-input.mlir" --target vulkan \
      -o "$seeds/plan/sample.kplan" >/dev/null 2>&1 || true
  fi
  # CPU images linked as the compiler links them, from the CPU runtime tests' kernels.
  mkdir -p "$seeds/cpuimage"
  if command -v clang-19 >/dev/null && command -v ld.lld-19 >/dev/null; then
    for f in "$root"/tests/unit/cpu/kernels/*.c; do
      clang-19 -O2 -march=x86-64-v3 -fPIC -ffreestanding -nostdlib -shared -fuse-ld=lld \
        --ld-path="$(command -v ld.lld-19)" \
        -Wl,-Bsymbolic,-z,now,-z,separate-loadable-segments,--no-rosegment,--build-id=none \
        -DKILN_TEST_N=1000 -DKILN_TEST_COLS=37 -o "$seeds/cpuimage/$(basename "$f" .c).so" "$f" || true
    done
  fi
  touch "$seeds/.complete"
fi
seed=$seeds/$target
# A compiled plan is ~130 KB; the other formats' interesting inputs are small.
max_len=65536
[ "$target" = plan ] && max_len=262144

echo "fuzz.sh: $target for ${seconds}s ($binary)"
# Leaks (LSan), UBSan reports (-fno-sanitize-recover aborts) and ASan errors all end the run
# with a crash-/leak- file in $findings and a non-zero exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
jobs=()
if [ "${KILN_FUZZ_JOBS:-1}" -gt 1 ]; then jobs=(-fork="$KILN_FUZZ_JOBS"); fi
exec "$binary" "${jobs[@]}" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
  -max_len=$max_len -print_final_stats=1 -artifact_prefix="$findings/" "$@" "$corpus" "$seed"
