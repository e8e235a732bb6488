#!/usr/bin/env bash
# test.sh: installs what Kiln needs, builds it, and runs every test (lit + GoogleTest + e2e).
#
# This is the README's test command and what CI runs (.ci/run). Exits non-zero on any failure.
# After the main build's tests it builds the MLIR-free runtime libraries and their unit tests
# with ASan + UBSan in build-asan/ and runs them, then runs every fuzz target (tests/fuzz,
# scripts/fuzz.sh) for KILN_FUZZ_SECONDS each (default 60; 0 skips the fuzz runs), two at a
# time; any finding (crash, leak, UBSan report) fails the script.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KILN_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

# The Vulkan loader wants a writable runtime dir; lavapipe is the device when there is no GPU.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
cd "$build"
ctest --output-on-failure -j2 --timeout 900

# The sanitizer build: runtime/{common,plan,checkpoint,data}, their unit tests, the fuzz targets.
asan=${KILN_ASAN_BUILD_DIR:-$root/build-asan}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.ccache}
export CCACHE_BASEDIR=$root
if [ ! -f "$asan/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$asan" -DKILN_RUNTIME_ONLY=ON -DKILN_SANITIZE=ON -DKILN_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19
fi
echo "test.sh: main build and tests done at ${SECONDS}s; sanitizer build in $asan"
ninja -C "$asan"
(cd "$asan" && ctest --output-on-failure -j2 --timeout 900)
echo "test.sh: sanitizer build and tests done at ${SECONDS}s"

seconds=${KILN_FUZZ_SECONDS:-60}
if [ "$seconds" -gt 0 ]; then
  export KILN_FUZZ_DIR=${KILN_FUZZ_DIR:-$asan/fuzz-ci}
  rm -rf "$KILN_FUZZ_DIR"
  logs=$KILN_FUZZ_DIR/logs
  mkdir -p "$logs"
  # Seeds first (one writer), then two targets at a time on the two cores.
  "$root/scripts/fuzz.sh" plan 1 -runs=0 >"$logs/seeds.log" 2>&1
  failed=()
  export KILN_FUZZ_NO_BUILD=1
  run_pair() {
    local pids=() t
    for t in "$@"; do
      "$root/scripts/fuzz.sh" "$t" "$seconds" >"$logs/$t.log" 2>&1 &
      pids+=($!)
    done
    local i=0
    for t in "$@"; do
      if ! wait "${pids[$i]}"; then failed+=("$t"); fi
      grep -E '^#[0-9]+[[:space:]]+DONE' "$logs/$t.log" | tail -1 | sed "s/^/fuzz $t: /" || true
      i=$((i + 1))
    done
  }
  run_pair plan safetensors
  run_pair idx cifar10
  run_pair mlir cpuimage
  echo "test.sh: fuzzing done at ${SECONDS}s"
  if [ "${#failed[@]}" -gt 0 ]; then
    for t in "${failed[@]}"; do
      echo "fuzz $t found a problem (log: $logs/$t.log, inputs: $KILN_FUZZ_DIR/findings/$t):"
      grep -E 'ERROR: |runtime error: |SUMMARY: ' "$logs/$t.log" | head -5 || true
    done
    exit 1
  fi
fi
