//===- Session.h - Running a plan on any device -----------------*- C++ -*-===//
//
// The session core: loads a plan onto a Device and runs its training step as
// ONE device submission per step. At creation it asks the device to allocate
// the plan's buffers, uploads variable initial values and constants (zeroing
// everything else), lays out each program's host staging, and has the device
// record the step twice (two alternating slots) and every other program once.
// Steps alternate between the two slots, so the host stages step N+1 while
// step N runs and can still read step N's outputs afterwards; only the latest
// two steps' outputs exist. Every other program (e.g. "eval") runs with run(),
// which submits its slot after every earlier step and waits for it.
//
// Devices add only a `create` that checks the plan for them (vulkan::Session,
// cuda::Session, reference::createSession); what is written here is the same
// for all of them, error messages included.
//
// Not thread-safe: one thread drives a session.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SESSION_SESSION_H
#define KILN_RUNTIME_SESSION_SESSION_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/ProgramIO.h"
#include "kiln/runtime/StatusMacros.h"
#include "kiln/runtime/session/Device.h"
#include "kiln/runtime/session/SessionStats.h"

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::session {

/// Named host tensors, as step() and run() take and run() returns.
using TensorMap = std::map<std::string, HostTensor, std::less<>>;

struct SessionConfig {
  /// How long step(), output(), run(), variable() and setVariable() wait for the device
  /// before failing with DeadlineExceeded.
  std::chrono::seconds waitTimeout{600};
};

class Session {
public:
  using TensorMap = session::TensorMap;

  /// Loads `plan` onto `device` (which its device's create has checked the plan for): buffers,
  /// initial values, every program recorded. Fails with the device's error.
  static absl::StatusOr<std::unique_ptr<Session>>
  create(plan::Plan plan, std::unique_ptr<Device> device, const SessionConfig &config = {});

  /// Waits for submitted work (the device's destructor), then releases everything.
  virtual ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// Submits one training step. `inputs` maps the names of the step's inputs to tensors of
  /// the input's shape and dtype (f32 and f64 are converted to each other); inputs not given
  /// use their default value. Only the step's inputs are staged. Fails with InvalidArgument
  /// naming the input for an unknown name (including an input only another program reads), a
  /// shape or dtype mismatch, or a missing input without default; nothing is submitted then.
  /// Waits only if this slot's previous step (two steps back) is still running.
  absl::Status step(const TensorMap &inputs);

  /// Training-step output `name` of the latest step, waiting for that step to finish.
  absl::StatusOr<HostTensor> output(std::string_view name);
  /// Training-step output `name` of step `stepIndex` (0-based), waiting for that step only.
  /// Only the last two steps' outputs exist: OutOfRange for older or not yet submitted steps;
  /// NotFound for names the step does not write (another program's outputs are returned by
  /// run()).
  absl::StatusOr<HostTensor> output(std::string_view name, uint64_t stepIndex);

  /// Runs program `program` (a name from Plan.programs, e.g. "eval") once and waits for it;
  /// returns every output the program writes, by name. The program runs after every step
  /// submitted before the call (so it sees their variable updates) and before every later
  /// one. `inputs` is checked like step()'s against the program's inputs. Fails with NotFound
  /// listing the plan's programs for an unknown name, InvalidArgument for "train" (use step())
  /// or bad inputs (nothing is submitted then), DeadlineExceeded if the run does not finish
  /// within SessionConfig::waitTimeout (the session is then unusable), and Unavailable if the
  /// device is lost.
  absl::StatusOr<TensorMap> run(std::string_view program, const TensorMap &inputs);

  /// Current value of variable `name`, after every submitted step (waits for them); NotFound
  /// for unknown names. For checkpoints and tests, not for the training loop.
  absl::StatusOr<HostTensor> variable(std::string_view name);
  /// Replaces variable `name` (same shape; dtype equal, or f32/f64 converted) after every
  /// submitted step finishes.
  absl::Status setVariable(std::string_view name, const HostTensor &value);

  /// Waits until every submitted step has finished.
  absl::Status synchronize();

  /// Names of the programs run() accepts, in plan order.
  std::vector<std::string> programNames() const;
  /// Number of steps submitted so far; the index of the next step.
  uint64_t stepsSubmitted() const { return stepsSubmitted_; }
  /// Counters so far; collects timings of finished steps without waiting for running ones.
  SessionStats stats();
  /// Writes toJson(stats()) to `path`; Unavailable if the file cannot be written.
  absl::Status writeStatsJson(const std::string &path);

  const plan::Plan &plan() const { return plan_; }

protected:
  Session(plan::Plan plan, std::unique_ptr<Device> device, const SessionConfig &config);
  /// Loads the plan onto the device, uploads initial values and records every program.
  absl::Status start();
  const Device &sessionDevice() const { return *device_; }

private:
  /// A recorded program with the host's knowledge of its last submission: one of the two
  /// alternating step slots, or the single slot of another program.
  struct Slot {
    uint32_t handle = 0; ///< The device's slot.
    bool inFlight = false;
    bool used = false;
    uint64_t stepIndex = 0;
    std::chrono::steady_clock::time_point submitTime;
  };
  /// One program of the plan (programs_[0] is the training step) and its staging layout.
  struct Program : plan::ProgramIO {
    ProgramRecording recording; ///< Where its inputs and outputs lie in staging.
    uint64_t dispatches = 0;    ///< Dispatches per run.
    Slot slot;                  ///< The slot of a program other than the step.
  };

  ProgramRecording layOut(const Program &program) const;
  absl::Status uploadInitialValues();
  absl::Status recordPrograms();
  /// Resolved inputs into the slot's staging.
  void stageInputs(const Program &program, const Slot &slot, const std::vector<HostTensor> &values);
  /// Output at `position` of program.view.outputs from the slot's readback (already waited).
  absl::StatusOr<HostTensor> readOutput(const Program &program, const Slot &slot, int position);
  /// Waits for the slot's step if it is in flight and collects its timings.
  absl::Status waitForSlot(Slot &slot);
  void completeSlot(Slot &slot);
  /// Remembers a device loss (Unavailable) or a device call that timed out (DeadlineExceeded)
  /// so later calls fail fast; returns `status`.
  absl::Status noteFailure(absl::Status status);
  /// The variable named `name` or NotFound listing them.
  absl::StatusOr<const plan::TensorSpec *> findVariable(std::string_view name) const;

  plan::Plan plan_;                // before device_: the device refers to it
  std::unique_ptr<Device> device_; // destroyed first
  std::chrono::seconds waitTimeout_;
  std::vector<Program> programs_;                      // [0] is the training step
  absl::flat_hash_map<std::string, int> programIndex_; // other programs' names -> index
  absl::flat_hash_map<std::string, int> variableIndex_;
  std::array<Slot, 2> slots_;

  absl::Status lost_; // not OK once the device is lost or a run timed out
  // What the session did, for stats(): measured, not read from the plan.
  uint64_t stepsSubmitted_ = 0, stepSubmits_ = 0, otherSubmits_ = 0, programRuns_ = 0;
  uint64_t recordedSteps_ = 0, recordedPrograms_ = 0, dispatchesSubmitted_ = 0;
  std::vector<double> hostStepSeconds_, gpuStepSeconds_;
};

/// A device's session (vulkan::Session, cuda::Session) as the core's type, for code that runs
/// any device.
template <typename DeviceSession>
absl::StatusOr<std::unique_ptr<Session>>
asCoreSession(absl::StatusOr<std::unique_ptr<DeviceSession>> session) {
  if (!session.ok())
    return session.status();
  return std::unique_ptr<Session>(*std::move(session));
}

} // namespace kiln::session

#endif // KILN_RUNTIME_SESSION_SESSION_H
