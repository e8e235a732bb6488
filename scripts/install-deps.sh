#!/usr/bin/env bash
# install-deps.sh: installs every Debian package Kiln needs to build, test and run.
#
# Idempotent: packages already present are skipped, so a second run costs a few seconds.
# Needs root (or sudo) and Debian 12's archive; nothing is downloaded from anywhere else.
set -euo pipefail

packages=(
  # LLVM/MLIR 19 (shared libLLVM/libMLIR), lit's FileCheck, lld for fast links.
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools lld-19 clang-19
  # clang-19's ASan, UBSan and libFuzzer runtimes (build-asan/, tests/fuzz).
  libclang-rt-19-dev
  # Vulkan loader, lavapipe, validation layers.
  libvulkan-dev mesa-vulkan-drivers vulkan-tools vulkan-validationlayers
  # Shader toolchain.
  glslang-tools glslang-dev libshaderc-dev spirv-tools
  # Runtime libraries and tests.
  libprotobuf-dev protobuf-compiler libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  # Build.
  cmake ninja-build ccache zlib1g-dev clang-format
  # Real data and the CPU oracle for differential tests (belongs to /usr/bin/python3).
  dataset-fashion-mnist python3-torch python3-numpy
  # English text the GPT sample trains on (/usr/share/games/fortunes/*).
  fortunes
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
