//===- ThreadTeam.h - The caller and parked workers, one job at a time -*- C++ -*-===//
//
// `threads` participants: the calling thread (index 0) and threads-1 workers
// that park between jobs. run(job) hands every participant the same job with
// its own index and returns when all of them have finished it, so one call is
// one phase of a program and its return the phase's barrier. Workers spin
// briefly for the next job, then sleep on a futex (std::atomic::wait), and
// wake with notify_all; the caller waits for the last one the same way.
//
// Every participant runs with the default floating-point environment (round to
// nearest, no flush-to-zero, no denormals-are-zero, exceptions masked); the
// caller's own is restored when run() returns.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_THREADTEAM_H
#define KILN_RUNTIME_CPU_THREADTEAM_H

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace kiln::cpu {

/// Tiles [begin, end) of `tileCount` that participant `index` of `threads` runs: contiguous,
/// balanced to within one tile, and a function of the three numbers only.
struct TileRange {
  uint32_t begin = 0;
  uint32_t end = 0;
};
TileRange tileRange(uint32_t tileCount, uint32_t index, uint32_t threads);

/// The number of threads `--threads 0` means: the cores this process may run on.
uint32_t defaultThreadCount();

class ThreadTeam {
public:
  using Job = std::function<void(uint32_t index)>;

  /// Starts threads-1 workers (threads >= 1).
  explicit ThreadTeam(uint32_t threads);
  /// Stops and joins the workers.
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam &) = delete;
  ThreadTeam &operator=(const ThreadTeam &) = delete;

  /// Runs `job(index)` on every participant (the caller is index 0) and returns when all have
  /// returned. Not reentrant: one thread calls run() at a time.
  void run(const Job &job);

  uint32_t threads() const { return threads_; }

private:
  void work(uint32_t index);

  uint32_t threads_;
  const Job *job_ = nullptr;
  std::atomic<uint32_t> generation_{0}; ///< Bumped per job; workers wait for a change.
  std::atomic<uint32_t> running_{0};    ///< Workers still running the current job.
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> workers_;
};

} // namespace kiln::cpu

#endif // KILN_RUNTIME_CPU_THREADTEAM_H
