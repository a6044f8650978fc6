// How many cells a run keeps in flight without --jobs (harness/engine/admission.hpp): it
// grows while starts keep their pace and drops when they fall far behind it, once per round.
#include <gtest/gtest.h>

#include <chrono>

#include "admission.hpp"

using namespace crashloop;
using std::chrono::milliseconds;

namespace {

// Launches and confirms `n` starts, each taking `latency`.
void starts(Admission& a, int n, milliseconds latency) {
    for (int i = 0; i < n; ++i) a.start_confirmed(a.launched(), latency);
}

} // namespace

TEST(Admission, grows_by_one_with_each_start_that_keeps_pace_up_to_the_cells_there_are) {
    Admission a(8, 2, 175);
    EXPECT_EQ(a.limit(), 8u);
    starts(a, 8, milliseconds(40));
    EXPECT_EQ(a.limit(), 16u) << "a round of quick starts doubles it";
    starts(a, 500, milliseconds(40));
    EXPECT_EQ(a.limit(), 175u);
    EXPECT_EQ(a.drops(), 0u);
}

TEST(Admission, a_start_far_slower_than_the_last_ones_drops_a_quarter_once_per_round) {
    Admission a(8, 2, 175);
    starts(a, 32, milliseconds(40)); // 40 cells in flight at most, starts take 40 ms
    ASSERT_EQ(a.limit(), 40u);
    EXPECT_EQ(a.slow_after(), milliseconds(2000)) << "never slow under two seconds";
    // Several cells launched before the machine got busy all come back slow: one drop.
    const uint64_t t1 = a.launched(), t2 = a.launched(), t3 = a.launched();
    a.start_confirmed(t1, milliseconds(3000));
    EXPECT_EQ(a.limit(), 30u);
    a.start_confirmed(t2, milliseconds(3500));
    a.start_confirmed(t3, milliseconds(3200));
    EXPECT_EQ(a.limit(), 30u) << "launched before the drop: already answered for";
    EXPECT_EQ(a.drops(), 1u);
    // A cell launched after the drop that is still slow: the machine is still behind.
    a.start_confirmed(a.launched(), milliseconds(4000));
    EXPECT_EQ(a.limit(), 23u);
    EXPECT_EQ(a.drops(), 2u);
}

TEST(Admission, never_drops_below_its_floor) {
    Admission a(4, 2, 175);
    starts(a, 32, milliseconds(10));
    ASSERT_EQ(a.limit(), 36u);
    // Sixteen slow starts in a row, each launched after the drop before it (the median of
    // the last 32 is still 10 ms): 36, 27, 21, 16 … down to the floor, and no further.
    starts(a, 16, milliseconds(60000));
    EXPECT_EQ(a.limit(), 2u);
    EXPECT_EQ(a.drops(), 16u);
}

// A machine that stays busy sets a new normal: its starts stop counting as slow, and the
// limit grows again from where it dropped to.
TEST(Admission, a_machine_that_stays_busy_becomes_the_new_normal) {
    Admission a(8, 2, 175);
    starts(a, 32, milliseconds(40));
    const size_t before = a.limit();
    starts(a, 40, milliseconds(5000));
    EXPECT_LT(a.limit(), before);
    EXPECT_EQ(a.slow_after(), milliseconds(40000));
    const size_t dropped = a.limit();
    starts(a, 10, milliseconds(5000));
    EXPECT_EQ(a.limit(), dropped + 10);
}

// A start-up of very unequal starts (a command-line supervisor's: 30 ms to a second on an
// idle machine) is not taken for a machine falling behind.
TEST(Admission, ordinary_spread_between_starts_is_not_slowness) {
    Admission a(8, 2, 175);
    for (int i = 0; i < 100; ++i) a.start_confirmed(a.launched(), milliseconds(i % 2 ? 30 : 900));
    EXPECT_EQ(a.drops(), 0u);
    EXPECT_EQ(a.limit(), 108u);
}
