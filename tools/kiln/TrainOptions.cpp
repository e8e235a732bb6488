//===- TrainOptions.cpp - The flags of kiln train -------------------------===//

#include "TrainOptions.h"

#include "CommandLine.h"
#include "Commands.h"

#include "absl/strings/str_cat.h"

#include <cmath>

namespace kiln::tool {

const char *const kTrainHelp = R"(kiln train MODEL.kplan [options]

Trains a compiled plan. Each step is one submission of the whole forward + backward +
optimizer step; the test split is measured with the plan's forward-only eval program.

Inputs are bound by name: each plan input is fed the --data field of the same name (the
image datasets provide "images" f32 [features] and "labels" i32 per example), batched to
the plan's [batch, ...] shape; "learning_rate" is fed from the schedule when a rate flag is
given; any other input keeps its default value. An input that has none of these is an
error listing the fields the data provides. The test accuracy is reported when the eval
program has a "logits" [batch, classes] output and a "labels" input; otherwise the test
loss alone.

Options:
  --data fashion-mnist|synthetic|DIR|cifar10:DIR|text:FILE
                         fashion-mnist (default): Debian's dataset-fashion-mnist files in
                         /usr/share/datasets/fashion-mnist; DIR: a folder of MNIST IDX files
                         (train-/t10k-, raw or .gz); cifar10:DIR: the CIFAR-10 binary files
                         (data_batch_1..5.bin, test_batch.bin): images f32 [3, 32, 32] (CHW),
                         each channel standardized with the CIFAR-10 training set's mean
                         (0.4914, 0.4822, 0.4465) and std (0.2470, 0.2435, 0.2616);
                         synthetic: Gaussian clusters, shaped like the plan's "images";
                         text:FILE: byte-level language modelling (every byte 0..255 is a
                         token): "tokens" and "targets" (the tokens shifted by one), i32
                         [batch, context] as the plan's "tokens" input is shaped, windows
                         at random offsets (seeded by --seed) of the first 90% of FILE;
                         the last 10% is the validation split, reported as "val loss"
  --device auto|cuda|vulkan|cpu|reference
                         auto (default) prefers CUDA (when the plan carries PTX and a CUDA
                         driver and device are present), else a Vulkan GPU (when the plan
                         carries SPIR-V), else cpu (when the plan carries native code for
                         this CPU: kiln compile --target cpu), else Vulkan on the CPU
                         (lavapipe), else reference; it says on stderr, in one line, which
                         devices it passed over and why. lavapipe before cpu: --device
                         vulkan (or --vulkan-device NAME|INDEX)
  --threads N            threads of the cpu device (default 0: the cores kiln may run on);
                         results are bitwise the same for every N
  --cuda-device INDEX    choose a CUDA device by index (default 0); KILN_CUDA_DRIVER=PATH
                         overrides the driver library (default libcuda.so.1)
  --vulkan-device NAME|INDEX   choose a Vulkan device by name substring or index (with
                         auto, it is tried in a Vulkan GPU's place, whatever its type)
  --validation           enable Vulkan validation and synchronization validation
  --steps N              train until N steps in all have run, counting the steps of a
                         resumed checkpoint (default: --epochs 1)
  --epochs E             train E passes over the training split (evaluating after each)
  --lr X                 the base learning rate, 0 or more (0 runs the steps without
                         changing the parameters; default: the one compiled into the plan)
  --lr-schedule constant|step|cosine
                         the learning rate of each step, a function of the global step
                         index s (counting a resumed checkpoint's steps): constant (default);
                         step: X * G^floor(s / N); cosine: from X down to --lr-min over
                         the run's total steps
  --lr-step-size N       step schedule: decay every N steps (default 1000)
  --lr-gamma G           step schedule: the decay factor (default 0.1)
  --lr-min M             cosine schedule: the final rate (default 0)
  --warmup-steps W       multiply the rate by (s + 1) / W for the first W steps (linear
                         warm-up), composed with any schedule
  --seed S               the data shuffling seed (default 0)
  --log-every N          print a progress line every N steps (default 50); on a terminal,
                         one progress bar line updated in place instead
  --metrics PATH         append JSON lines to PATH: {"step", "epoch", "loss", "lr",
                         "steps_per_second"} per logged step, {"step", "test_accuracy"
                         (when measured), "test_loss"} per evaluation, and a last line
                         with the run's "train_seconds" and "data_wait_seconds"
  --early-stop-patience N  with --epochs: stop when the validation accuracy (the
                         validation loss, for a plan without accuracy) has not improved for
                         N epochs in a row
  --validation-fraction F  with --epochs: hold out the last F of a fixed permutation
                         (seeded by --seed) of the training split, evaluate it after each
                         epoch, and train on the rest (default 0.1 with early stopping)
  --eval-every N         also measure the test split (text: the validation windows)
                         every N steps, besides after each epoch (with --epochs) and at
                         the end of training
  --eval-batches N       text:FILE: measure at most N batches of fixed, evenly spaced
                         validation windows (default 16)
  --stats-json PATH      write the run's statistics (device stats, loss per step with
                         first_step the number of the first, test accuracy) as JSON
  --checkpoint PATH      save a checkpoint (safetensors: every variable, the step, the data
                         position, the seed and the plan's hash) at the end of each epoch
                         and of training; written crash-safely (temporary file + rename)
  --checkpoint-every N   save it every N steps instead (and at the end of training)
  --resume PATH          load a checkpoint of this plan and continue where it stopped: the
                         same variables, step count and batches, so the losses are
                         bit-identical to an uninterrupted run on the same device
  --init-from PATH       start from the trainable parameters in a safetensors file (as kiln
                         export writes it): every one must be there, with the plan's shape;
                         optimizer state starts fresh
)";

absl::StatusOr<TrainOptions> parseTrainOptions(const std::vector<std::string> &args) {
  auto parsed = Arguments::parse(args,
                                 {"data",
                                  "device",
                                  "vulkan-device",
                                  "cuda-device",
                                  "threads",
                                  "steps",
                                  "epochs",
                                  "lr",
                                  "seed",
                                  "log-every",
                                  "stats-json",
                                  "checkpoint",
                                  "checkpoint-every",
                                  "resume",
                                  "lr-schedule",
                                  "lr-step-size",
                                  "lr-gamma",
                                  "lr-min",
                                  "warmup-steps",
                                  "metrics",
                                  "early-stop-patience",
                                  "validation-fraction",
                                  "init-from",
                                  "eval-every",
                                  "eval-batches"},
                                 {"validation"});
  if (!parsed.ok())
    return parsed.status();
  const Arguments &a = *parsed;
  auto invalid = [](auto &&...parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (a.positional().size() != 1)
    return invalid("expected exactly one plan file (.kplan); see kiln train --help");
  auto steps = a.getInt("steps", 0);
  auto epochs = a.getInt("epochs", 0);
  auto seed = a.getInt("seed", 0);
  auto logEvery = a.getInt("log-every", 50);
  auto learningRate = a.getDouble("lr", 0);
  auto checkpointEvery = a.getInt("checkpoint-every", 0);
  auto stepSize = a.getInt("lr-step-size", 1000);
  auto gamma = a.getDouble("lr-gamma", 0.1);
  auto minimumRate = a.getDouble("lr-min", 0);
  auto warmupSteps = a.getInt("warmup-steps", 0);
  auto threads = a.getInt("threads", 0);
  auto evalEvery = a.getInt("eval-every", 0);
  auto evalBatches = a.getInt("eval-batches", 16);
  auto patience = a.getInt("early-stop-patience", 0);
  auto validationFraction =
      a.getDouble("validation-fraction", a.has("early-stop-patience") ? 0.1 : 0);
  for (const absl::Status &status :
       {steps.status(), epochs.status(), seed.status(), logEvery.status(), learningRate.status(),
        checkpointEvery.status(), stepSize.status(), gamma.status(), minimumRate.status(),
        warmupSteps.status(), patience.status(), validationFraction.status(), threads.status(),
        evalEvery.status(), evalBatches.status()})
    if (!status.ok())
      return status;
  if (*threads < 0 || *threads > 1024)
    return invalid("--threads must be between 0 and 1024, not ", *threads);
  if (*seed < 0)
    return invalid("--seed must be a non-negative integer, not ", *seed);
  if (a.has("steps") && a.has("epochs"))
    return invalid("give either --steps N or --epochs E, not both");
  if (a.has("steps") && *steps < 1)
    return invalid("--steps must be at least 1 (it counts the steps of the whole run, "
                   "a resumed checkpoint's included), not ",
                   *steps);
  if (a.has("epochs") && *epochs < 1)
    return invalid("--epochs must be at least 1, not ", *epochs);
  if (a.has("lr") && !(*learningRate >= 0 && std::isfinite(*learningRate)))
    return invalid("--lr must be a finite rate of 0 or more (0 leaves the parameters "
                   "as they are), not ",
                   *learningRate);
  auto scheduleKind = parseScheduleKind(a.getOr("lr-schedule", "constant"));
  if (!scheduleKind.ok())
    return scheduleKind.status();
  if ((a.has("early-stop-patience") || a.has("validation-fraction")) && !a.has("epochs"))
    return invalid(
        "--early-stop-patience and --validation-fraction work per epoch; give --epochs E");
  if (a.has("early-stop-patience") && *patience < 1)
    return invalid("--early-stop-patience must be at least 1");
  if (!(*validationFraction >= 0 && *validationFraction < 1) ||
      (a.has("validation-fraction") && *validationFraction == 0))
    return invalid("--validation-fraction must lie in (0, 1)");
  if (a.has("checkpoint-every") && (*checkpointEvery <= 0 || !a.has("checkpoint")))
    return invalid("--checkpoint-every N needs a positive N and --checkpoint PATH");
  if (a.has("eval-every") && *evalEvery < 1)
    return invalid("--eval-every must be at least 1, not ", *evalEvery);
  if (*evalBatches < 1)
    return invalid("--eval-batches must be at least 1, not ", *evalBatches);
  if (a.has("resume") && a.has("init-from"))
    return invalid("--resume continues a run and --init-from starts one; give one of them");

  TrainOptions options;
  options.planPath = a.positional()[0];
  options.data = a.getOr("data", options.data);
  options.device = a.getOr("device", options.device);
  options.vulkanDevice = a.getOr("vulkan-device", "");
  options.cudaDevice = a.getOr("cuda-device", options.cudaDevice);
  options.threads = static_cast<uint32_t>(*threads);
  options.validation = a.has("validation");
  if (a.has("steps"))
    options.steps = *steps;
  if (a.has("epochs"))
    options.epochs = *epochs;
  options.seed = static_cast<uint64_t>(*seed);
  options.seedGiven = a.has("seed");
  options.logEvery = *logEvery;
  if (a.has("lr"))
    options.learningRate = *learningRate;
  options.scheduleKind = *scheduleKind;
  options.scheduleGiven = a.has("lr-schedule");
  options.stepSize = *stepSize;
  options.gamma = *gamma;
  options.minimumRate = *minimumRate;
  options.warmupSteps = *warmupSteps;
  options.feedLearningRate = a.has("lr") || a.has("lr-schedule") || a.has("warmup-steps");
  options.patience = *patience;
  options.validationFraction = *validationFraction;
  options.metricsPath = a.get("metrics");
  options.statsJsonPath = a.get("stats-json");
  options.checkpointPath = a.get("checkpoint");
  options.checkpointEvery = *checkpointEvery;
  options.resumePath = a.get("resume");
  options.initFromPath = a.get("init-from");
  options.evalEvery = *evalEvery;
  options.evalBatches = *evalBatches;
  return options;
}

} // namespace kiln::tool
