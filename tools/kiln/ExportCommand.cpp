//===- ExportCommand.cpp - kiln export ------------------------------------===//
//
// Writes the trainable parameters of a training checkpoint (no optimizer
// state, no training metadata) to a safetensors file whose tensor names are
// the plan's parameter names, e.g. fc1.weight [out, in] as PyTorch's nn.Linear
// stores it, so `model.load_state_dict(safetensors.torch.load_file(...))`
// loads it. `kiln train --init-from` reads such a file back.
//
//===----------------------------------------------------------------------===//

#include "CommandLine.h"
#include "Commands.h"

#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/checkpoint/Checkpoint.h"

#include "absl/strings/str_cat.h"

#include <cstdio>

namespace kiln::tool {

const char *const kExportHelp =
    R"(kiln export MODEL.kplan --checkpoint C.safetensors -o W.safetensors

Writes the trainable parameters of a checkpoint of MODEL.kplan (written by kiln train
--checkpoint) to a safetensors file, under the plan's parameter names (fc1.weight [out, in],
fc1.bias, ...), as PyTorch's state_dict names them. Optimizer state is left out.
kiln train --init-from W.safetensors starts a training run from them.

Options:
  --checkpoint PATH      the checkpoint to export (required)
  -o, --output PATH      the file to write (required)
)";

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "kiln export: %s\n", message.c_str());
  return 1;
}

} // namespace

int runExport(const std::vector<std::string> &rawArgs) {
  std::vector<std::string> args;
  for (const std::string &arg : rawArgs)
    args.push_back(arg == "-o" ? "--output" : arg);
  auto parsed = Arguments::parse(args, {"checkpoint", "output"}, {});
  if (!parsed.ok())
    return fail(std::string(parsed.status().message()));
  const Arguments &a = *parsed;
  if (a.positional().size() != 1)
    return fail("expected exactly one plan file (.kplan); see kiln export --help");
  if (!a.has("checkpoint") || !a.has("output"))
    return fail("give the checkpoint to export (--checkpoint PATH) and the file to write (-o "
                "PATH)");
  auto plan = plan::readPlanFile(a.positional()[0]);
  if (!plan.ok())
    return fail(std::string(plan.status().message()));
  std::string checkpointPath = *a.get("checkpoint");
  auto file = checkpoint::readSafetensors(checkpointPath);
  if (!file.ok())
    return fail(std::string(file.status().message()));
  auto state = checkpoint::validateCheckpoint(*file, *plan, checkpointPath);
  if (!state.ok())
    return fail(std::string(state.status().message()));

  checkpoint::TensorFile weights;
  for (const plan::Variable &variable : plan->variables())
    if (variable.trainable()) {
      auto found = file->tensors.find(variable.tensor().name());
      weights.tensors.emplace(found->first, found->second);
    }
  weights.metadata.emplace("format", "pt");
  weights.metadata.emplace("kiln.step", absl::StrCat(state->step));
  std::string output = *a.get("output");
  if (absl::Status status = checkpoint::writeSafetensors(output, weights); !status.ok())
    return fail(std::string(status.message()));
  std::printf("kiln export: wrote %zu parameters of step %lld to %s\n", weights.tensors.size(),
              static_cast<long long>(state->step), output.c_str());
  return 0;
}

} // namespace kiln::tool
