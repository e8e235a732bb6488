//===- TrainProgress.h - What kiln train shows while it runs ----*- C++ -*-===//
//
// On a terminal one progress bar line is redrawn in place; otherwise a plain
// line is printed per logged step. Other output ends the bar first. The
// metrics file gets one JSON line per logged step, per evaluation and at the
// end, each flushed as it is written.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_TRAINPROGRESS_H
#define KILN_TOOLS_KILN_TRAINPROGRESS_H

#include "absl/status/statusor.h"

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

namespace kiln::tool {

/// The progress display of one run on stdout.
class Progress {
public:
  /// `terminal`: stdout is a terminal (draw a bar). `totalSteps` and `batchSize` scale the bar,
  /// the ETA and the samples per second.
  Progress(bool terminal, int64_t totalSteps, int64_t batchSize);

  /// Shows that `done` steps of the run have finished, in epoch `epoch`, at `stepsPerSecond`.
  /// `loss` is the latest loss read; none yet: no bar. On a terminal the bar is redrawn at
  /// most every 0.1 s, and always for the `last` step; otherwise a `logged` step prints a
  /// plain line.
  void showStep(int64_t done, int64_t epoch, const float *loss, double stepsPerSecond, bool logged,
                bool last);
  /// Prints `line` (and a newline) below the bar, ending the bar first.
  void print(const std::string &line);
  /// Ends the bar on screen with its newline, so other output (an error) starts a new line.
  void endBar();

private:
  bool terminal_;
  int64_t totalSteps_;
  int64_t batchSize_;
  bool barShown_ = false;
  std::chrono::steady_clock::time_point lastDraw_;
};

/// "1:05": minutes and seconds.
std::string formatDuration(double seconds);

/// Appends JSON lines to a metrics file, flushing each one.
class MetricsFile {
public:
  /// Opens `path` for appending; Unavailable naming the path if it cannot be opened.
  static absl::StatusOr<MetricsFile> open(const std::string &path);
  /// Writes `members` (JSON object members without braces) as one line; Unavailable naming the
  /// path when the write fails.
  absl::Status write(const std::string &members);

private:
  std::string path_;
  std::unique_ptr<std::ofstream> out_;
};

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_TRAINPROGRESS_H
