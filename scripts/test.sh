#!/usr/bin/env bash
# test.sh: installs what Kiln needs, builds it, and runs every test (lit + GoogleTest + e2e).
#
# This is the README's test command and what CI runs (.ci/run). Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KILN_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

# The Vulkan loader wants a writable runtime dir; lavapipe is the device when there is no GPU.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
cd "$build"
ctest --output-on-failure -j2 --timeout 900
