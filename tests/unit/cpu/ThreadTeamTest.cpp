//===- ThreadTeamTest.cpp - Tile splits and the team's barrier ------------===//

#include "kiln/runtime/cpu/ThreadTeam.h"

#include "gtest/gtest.h"

#include <atomic>
#include <vector>

namespace kiln::cpu {
namespace {

TEST(ThreadTeamTest, TileRangesCoverEveryTileOnce) {
  for (uint32_t threads = 1; threads <= 8; ++threads)
    for (uint32_t tiles = 0; tiles <= 50; ++tiles) {
      uint32_t next = 0;
      for (uint32_t index = 0; index < threads; ++index) {
        TileRange range = tileRange(tiles, index, threads);
        EXPECT_EQ(range.begin, next) << tiles << " tiles, thread " << index << " of " << threads;
        EXPECT_LE(range.end - range.begin, tiles / threads + 1);
        next = range.end;
      }
      EXPECT_EQ(next, tiles);
    }
  TileRange last = tileRange(4000000000u, 2, 3);
  EXPECT_EQ(last.end, 4000000000u); // no overflow in the split
}

TEST(ThreadTeamTest, EveryParticipantRunsEveryJobOnce) {
  for (uint32_t threads : {1u, 2u, 3u, 5u}) {
    ThreadTeam team(threads);
    EXPECT_EQ(team.threads(), threads);
    std::vector<std::atomic<int>> runs(threads);
    std::vector<int> previous(threads, 0);
    for (int job = 0; job < 2000; ++job) {
      // Each job sees every participant's previous job done: the barrier.
      team.run([&](uint32_t index) {
        for (uint32_t other = 0; other < threads; ++other)
          if (runs[other].load() < job)
            ADD_FAILURE() << "participant " << other << " had not finished job " << job - 1;
        runs[index].fetch_add(1);
      });
      for (uint32_t index = 0; index < threads; ++index)
        ASSERT_EQ(runs[index].load(), job + 1) << "participant " << index;
    }
  }
}

TEST(ThreadTeamTest, DefaultThreadCountIsTheCoresPresent) { EXPECT_GE(defaultThreadCount(), 1u); }

} // namespace
} // namespace kiln::cpu
