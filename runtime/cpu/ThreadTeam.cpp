//===- ThreadTeam.cpp - The caller and parked workers, one job at a time --===//

#include "kiln/runtime/cpu/ThreadTeam.h"

#include <sched.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace kiln::cpu {

namespace {

/// Iterations a participant polls before sleeping on the futex.
constexpr int kSpinIterations = 4000;

void relax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// Waits until `value` differs from `old`: spin, then futex wait.
void waitWhileEqual(const std::atomic<uint32_t> &value, uint32_t old) {
  for (int spin = 0; spin < kSpinIterations; ++spin) {
    if (value.load(std::memory_order_acquire) != old)
      return;
    relax();
  }
  while (value.load(std::memory_order_acquire) == old)
    value.wait(old, std::memory_order_acquire);
}

/// The default floating-point environment for the duration of a job; restores the thread's.
class DefaultFloatingPoint {
public:
#if defined(__x86_64__)
  DefaultFloatingPoint() : saved_(_mm_getcsr()) { _mm_setcsr(kDefaultMxcsr); }
  ~DefaultFloatingPoint() { _mm_setcsr(saved_); }

private:
  static constexpr unsigned kDefaultMxcsr = 0x1f80; // all exceptions masked, nearest, no FTZ/DAZ
  unsigned saved_;
#elif defined(__aarch64__)
  DefaultFloatingPoint() {
    asm volatile("mrs %0, fpcr" : "=r"(saved_));
    asm volatile("msr fpcr, %0" ::"r"(uint64_t{0}));
  }
  ~DefaultFloatingPoint() { asm volatile("msr fpcr, %0" ::"r"(saved_)); }

private:
  uint64_t saved_;
#endif
};

} // namespace

TileRange tileRange(uint32_t tileCount, uint32_t index, uint32_t threads) {
  uint64_t count = tileCount;
  return {static_cast<uint32_t>(count * index / threads),
          static_cast<uint32_t>(count * (index + 1) / threads)};
}

uint32_t defaultThreadCount() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
    return static_cast<uint32_t>(CPU_COUNT(&set));
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

ThreadTeam::ThreadTeam(uint32_t threads) : threads_(threads < 1 ? 1 : threads) {
  workers_.reserve(threads_ - 1);
  for (uint32_t index = 1; index < threads_; ++index)
    workers_.emplace_back([this, index] { work(index); });
}

ThreadTeam::~ThreadTeam() {
  stopping_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread &worker : workers_)
    worker.join();
}

void ThreadTeam::run(const Job &job) {
  DefaultFloatingPoint environment;
  if (workers_.empty()) {
    job(0);
    return;
  }
  job_ = &job;
  running_.store(static_cast<uint32_t>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  job(0);
  for (uint32_t left = running_.load(std::memory_order_acquire); left != 0;
       left = running_.load(std::memory_order_acquire))
    waitWhileEqual(running_, left);
}

void ThreadTeam::work(uint32_t index) {
  DefaultFloatingPoint environment;
  uint32_t seen = 0;
  for (;;) {
    waitWhileEqual(generation_, seen);
    seen = generation_.load(std::memory_order_acquire);
    if (stopping_.load(std::memory_order_relaxed))
      return;
    (*job_)(index);
    if (running_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      running_.notify_one();
  }
}

} // namespace kiln::cpu
