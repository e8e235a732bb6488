//===- FuzzSeeds.cpp - kiln-fuzz-seeds: seed corpora for the fuzz targets ===//
//
// kiln-fuzz-seeds DIR writes small valid inputs, made by the same helpers the
// unit tests use, into DIR/plan, DIR/safetensors, DIR/idx and DIR/cifar10
// (scripts/fuzz.sh adds the tests' .mlir files and a compiled sample plan).
//
//===----------------------------------------------------------------------===//

#include "../unit/checkpoint/CheckpointSamples.h"

#include "../unit/data/DataTestFiles.h"
#include "../unit/plan/TestPlans.h"

#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/checkpoint/Checkpoint.h"
#include "kiln/runtime/checkpoint/Safetensors.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using kiln::data::testing::Bytes;

void write(const fs::path &path, const std::string &bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

void write(const fs::path &path, const Bytes &bytes) {
  write(path, std::string(bytes.begin(), bytes.end()));
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kiln-fuzz-seeds DIR\n");
    return 2;
  }
  fs::path dir = argv[1];
  using namespace kiln;

  write(dir / "plan/valid.kplan", plan::encodePlanFile(plan::testing::makeValidPlan()));
  write(dir / "plan/programs.kplan", plan::encodePlanFile(plan::testing::makeProgramsPlan()));

  plan::Plan sample = checkpoint_test::samplePlan();
  checkpoint::TrainingState state;
  state.planSha256 = checkpoint::planSha256(sample);
  state.step = 20;
  state.dataEpoch = 1;
  state.dataBatch = 3;
  state.seed = 42;
  std::map<std::string, HostTensor, std::less<>> variables;
  variables["fc1.weight"] = HostTensor(DType::kF32, {4, 3});
  variables["fc1.weight.adam_m"] = HostTensor(DType::kF32, {4, 3});
  variables["optimizer.step"] = HostTensor::scalar(20);
  auto checkpointBytes =
      checkpoint::encodeSafetensors(checkpoint::makeCheckpoint(std::move(variables), state));
  if (!checkpointBytes.ok()) {
    std::fprintf(stderr, "kiln-fuzz-seeds: %s\n", checkpointBytes.status().ToString().c_str());
    return 1;
  }
  write(dir / "safetensors/checkpoint.safetensors", *checkpointBytes);
  checkpoint::TensorFile mixed;
  mixed.tensors["f64"] = HostTensor(DType::kF64, {2});
  mixed.tensors["i32"] = HostTensor(DType::kI32, {3, 1});
  mixed.metadata["note"] = "seed";
  if (auto bytes = checkpoint::encodeSafetensors(mixed); bytes.ok())
    write(dir / "safetensors/mixed.safetensors", *bytes);

  using namespace kiln::data::testing;
  write(dir / "idx/images.idx", idxImages(3, 4, 5, patternPixels(3, 4, 5)));
  write(dir / "idx/images.idx.gz", gzip(idxImages(2, 2, 2, patternPixels(2, 2, 2))));
  write(dir / "idx/labels.idx", idxLabels({0, 9, 3}));
  write(dir / "idx/labels.idx.gz", gzip(idxLabels({1, 2})));
  write(dir / "cifar10/two.bin", cifarRecords({0, 9}));
  write(dir / "cifar10/one.bin.gz", gzip(cifarRecords({4})));
  return 0;
}
