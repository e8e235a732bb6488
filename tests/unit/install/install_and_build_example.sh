#!/bin/sh
# install_and_build_example.sh - Installs a Kiln build into a temporary prefix, builds the
# out-of-tree model in examples/my-model against it (find_package(Kiln), kiln_add_model), checks
# that the module and the plan were written, and inspects the plan with the installed kiln.
#
#   install_and_build_example.sh BUILD_DIR EXAMPLE_DIR C_COMPILER CXX_COMPILER
set -eu

if [ $# -ne 4 ]; then
  echo "usage: $0 BUILD_DIR EXAMPLE_DIR C_COMPILER CXX_COMPILER" >&2
  exit 2
fi
build_dir=$1
example_dir=$2
cc=$3
cxx=$4

work=$(mktemp -d "${TMPDIR:-/tmp}/kiln-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build_dir" --prefix "$prefix" > "$work/install.log" ||
  { cat "$work/install.log" >&2; echo "FAIL: cmake --install $build_dir" >&2; exit 1; }

cmake -G Ninja -S "$example_dir" -B "$work/build" -DKiln_DIR="$prefix/lib/cmake/Kiln" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" > "$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; echo "FAIL: configuring $example_dir" >&2; exit 1; }

ninja -C "$work/build" > "$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; echo "FAIL: building $example_dir" >&2; exit 1; }

for output in my_mlp.mlir my_mlp.kplan; do
  if [ ! -s "$work/build/$output" ]; then
    echo "FAIL: the build did not write $output" >&2
    exit 1
  fi
done
grep -q 'graph.minimize' "$work/build/my_mlp.mlir" ||
  { echo "FAIL: my_mlp.mlir has no graph.minimize" >&2; exit 1; }

"$prefix/bin/kiln" inspect "$work/build/my_mlp.kplan" > "$work/inspect.log" 2>&1 ||
  { cat "$work/inspect.log" >&2; echo "FAIL: kiln inspect my_mlp.kplan" >&2; exit 1; }
grep -q 'Model: my_mlp' "$work/inspect.log" ||
  { cat "$work/inspect.log" >&2; echo "FAIL: kiln inspect does not show Model: my_mlp" >&2; exit 1; }

echo "PASS: installed Kiln into a prefix, built my_mlp.mlir and my_mlp.kplan, inspected the plan"
