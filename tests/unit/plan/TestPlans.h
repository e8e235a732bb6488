//===- TestPlans.h - Hand-built plans for the plan-format tests -*- C++ -*-===//
//
// Small valid plans exercising every field (one with only the training step, in
// the legacy form, one with an "eval" program), which the tests mutate to break
// one rule at a time. Its SPIR-V is a header-only stand-in: the plan tests never
// execute kernels.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_PLAN_TESTPLANS_H
#define KILN_TESTS_UNIT_PLAN_TESTPLANS_H

#include "kiln/plan/plan.pb.h"

namespace kiln::plan::testing {

/// Buffer indices of makeValidPlan().
enum TestBuffer { kA, kB, kSum, kAccumulator, kNext, kOut, kTable };

/// out = 0.5 * (a + b + acc); acc = out, over f32[4] tensors, with a constant table.
/// Commands: 0 dispatch add, 1 barrier, 2 dispatch add, 3 barrier, 4 dispatch scale,
/// 5 barrier, 6 copy out -> acc.
Plan makeValidPlan();

/// Buffer indices makeProgramsPlan() adds to makeValidPlan's.
enum ProgramsTestBuffer { kEvalOut = kTable + 1, kEvalSum };

/// makeValidPlan with explicit lists on the step (named "train": inputs a, b; output 0 "out")
/// and a program "eval" (inputs: a, shared with the step; output 1, also named "out", in
/// buffer kEvalOut): eval.sum = a + acc; out = 0.5 * eval.sum. Commands: 0 dispatch add,
/// 1 barrier, 2 dispatch scale. Carries a graph_module.
Plan makeProgramsPlan();

} // namespace kiln::plan::testing

#endif // KILN_TESTS_UNIT_PLAN_TESTPLANS_H
