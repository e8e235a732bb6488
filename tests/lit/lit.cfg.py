# lit.cfg.py - Configuration of Kiln's IR tests.
#
# Runs every `.mlir` file under tests/lit (graph/, compiler/ and any folder
# added later; tool/ runs `.test` files, see its lit.local.cfg) through the RUN
# lines it carries. Tests write `kiln-opt`, `kiln`, `kiln-sample-mlp`,
# `FileCheck` and `not`; the substitutions below point them at the tools of
# this build and at LLVM 19's FileCheck and not. Load it through the
# lit.site.cfg.py that CMake writes into the build tree.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "Kiln"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_binary_dir, "tests", "lit")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in", "Inputs"]

# FileCheck, not and count from LLVM 19.
llvm_config.use_default_substitutions()

# Tools built by Kiln. A missing tool is fatal: build it first
# (`ninja kiln-opt kiln kiln-sample-mlp`, or `ninja check-kiln-lit`, which builds them).
llvm_config.add_tool_substitutions(
    [
        lit.llvm.subst.ToolSubst("kiln-opt", unresolved="fatal"),
        lit.llvm.subst.ToolSubst("kiln", unresolved="fatal"),
        lit.llvm.subst.ToolSubst("kiln-sample-mlp", unresolved="fatal"),
        lit.llvm.subst.ToolSubst("kiln-sample-airbench", unresolved="fatal"),
        lit.llvm.subst.ToolSubst("kiln-sample-cnn", unresolved="fatal"),
        lit.llvm.subst.ToolSubst("kiln-sample-gpt", unresolved="fatal"),
    ],
    [config.kiln_tools_dir],
)
llvm_config.with_environment("PATH", config.kiln_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
