//===- TrainProgress.cpp - What kiln train shows while it runs ------------===//

#include "TrainProgress.h"

#include "absl/strings/str_cat.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace kiln::tool {
namespace {

/// "[#####.....]" with `width` cells, `done` of `total` filled.
std::string progressBar(int64_t done, int64_t total, int width) {
  int filled = static_cast<int>(width * done / std::max<int64_t>(total, 1));
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

} // namespace

std::string formatDuration(double seconds) {
  int64_t s = static_cast<int64_t>(std::lround(seconds));
  return absl::StrCat(s / 60, ":", s % 60 < 10 ? "0" : "", s % 60);
}

Progress::Progress(bool terminal, int64_t totalSteps, int64_t batchSize)
    : terminal_(terminal), totalSteps_(totalSteps), batchSize_(batchSize),
      lastDraw_(std::chrono::steady_clock::now()) {}

void Progress::showStep(int64_t done, int64_t epoch, const float *loss, double stepsPerSecond,
                        bool logged, bool last) {
  auto now = std::chrono::steady_clock::now();
  std::string eta = formatDuration((totalSteps_ - done) / stepsPerSecond);
  // On a terminal the bar shows the latest loss read (usually the previous step's).
  if (terminal_ && loss &&
      (last || std::chrono::duration<double>(now - lastDraw_).count() >= 0.1)) {
    lastDraw_ = now;
    std::printf("\r%s %lld/%lld epoch %lld loss %.4f %.1f steps/s %.0f samples/s ETA %s\x1b[K",
                progressBar(done, totalSteps_, 20).c_str(), static_cast<long long>(done),
                static_cast<long long>(totalSteps_), static_cast<long long>(epoch), *loss,
                stepsPerSecond, stepsPerSecond * batchSize_, eta.c_str());
    std::fflush(stdout);
    barShown_ = true;
  }
  if (logged && !terminal_ && loss) {
    std::printf("step %6lld/%lld  epoch %lld  loss %.4f  %.1f steps/s  %.0f samples/s  ETA %s\n",
                static_cast<long long>(done), static_cast<long long>(totalSteps_),
                static_cast<long long>(epoch), *loss, stepsPerSecond, stepsPerSecond * batchSize_,
                eta.c_str());
    std::fflush(stdout);
  }
}

void Progress::print(const std::string &line) {
  endBar();
  std::printf("%s\n", line.c_str());
}

void Progress::endBar() {
  if (barShown_)
    std::fputc('\n', stdout);
  barShown_ = false;
}

absl::StatusOr<MetricsFile> MetricsFile::open(const std::string &path) {
  MetricsFile file;
  file.path_ = path;
  file.out_ = std::make_unique<std::ofstream>(path, std::ios::app);
  if (!*file.out_)
    return absl::UnavailableError(absl::StrCat("cannot open the metrics file '", path,
                                               "' for appending: ", std::strerror(errno)));
  return file;
}

absl::Status MetricsFile::write(const std::string &members) {
  *out_ << "{" << members << "}\n" << std::flush;
  if (!*out_)
    return absl::UnavailableError(absl::StrCat("cannot write to the metrics file '", path_, "'"));
  return absl::OkStatus();
}

} // namespace kiln::tool
