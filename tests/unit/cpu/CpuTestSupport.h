//===- CpuTestSupport.h - Shared pieces of the CPU runtime tests -*- C++ -*-===//
//
// The build-time test images (kernels/*.c linked as the compiler links CPU
// code) with their symbols, and hand-built plans that run them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_CPU_CPUTESTSUPPORT_H
#define KILN_TESTS_UNIT_CPU_CPUTESTSUPPORT_H

#include "kiln/plan/plan.pb.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln::cpu::testing {

/// Elements of the add and half kernels (KILN_TEST_N), tiles of 64 elements.
inline constexpr int64_t kElements = 1000;
inline constexpr uint32_t kElementTiles = 16;
/// Columns of the rowdot kernel (KILN_TEST_COLS); its tiles are rows.
inline constexpr int64_t kColumns = 37;

/// The bytes of test image `name` ("kernels", "relocated", "calling").
std::string readImage(const std::string &name);
/// Its defined dynamic symbols and their values (the entry offsets).
std::map<std::string, uint64_t> imageSymbols(const std::string &name);
/// A CpuImage for x86-64-v3 holding `code` and its sha256.
plan::CpuImage makeImage(const std::string &code);

/// Buffer indices of makeAccumulatePlan().
enum AccumulateBuffer { kA, kB, kSum, kAccumulator, kNext, kOut };

/// Over f32[1000], for cpu only: sum = a + b; out = 0.5 * (sum + acc); acc = out. Input a
/// (required) and b (default 10 + i), outputs "sum" and "out", variable "acc" ~ U[-1, 1).
/// Commands: dispatch add, barrier, dispatch add, barrier, dispatch half, barrier, copy.
plan::Plan makeAccumulatePlan();

/// out[r] = sum_c m[r, c] * v[c] for m f32[rows, 37], v f32[37]: one rowdot dispatch of `rows`
/// tiles with 64 bytes of scratch per thread; inputs "m" and "v", output "out".
plan::Plan makeRowDotPlan(uint32_t rows);

/// The default value of input b in makeAccumulatePlan.
std::vector<float> defaultB();

} // namespace kiln::cpu::testing

#endif // KILN_TESTS_UNIT_CPU_CPUTESTSUPPORT_H
