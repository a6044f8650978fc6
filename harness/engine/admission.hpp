#pragma once
// How many cells a run keeps in flight when --jobs is not given: as many as the
// supervisor and the machine keep up with, found while the run goes.
//
// A cell's start (the supervisor's answer that the service runs) is the probe:
// a start confirmed in about the time starts have been taking means there is
// room, and the limit grows by one (so it doubles with every round of starts);
// a start that takes much longer than they have (eight times the median of the
// last ones, and two seconds at least: a command-line supervisor's starts vary
// by a second on an idle machine, and by more when two runs share it) means the supervisor or the machine is falling
// behind, and the limit drops by a quarter, once per round: the starts launched
// before a drop cannot tell whether it helped, so their slowness is not counted
// twice. Slow starts count towards the median too: on a machine that stays
// busy, what starts take becomes the new normal and the limit grows again
// from there. A burst of 175 starts on two cores is what turned cells into `error`
// on a loaded machine; a start that waits its turn costs a cell nothing (its
// deadline counts from its own confirmed start).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>

namespace crashloop {

class Admission {
  public:
    // initial ≥ floor ≥ 1; ceiling: the cells there are (a limit above it means nothing).
    Admission(size_t initial, size_t floor, size_t ceiling);

    size_t limit() const { return limit_; }
    // A cell is launched now: its ticket, to hand back with its confirmed start.
    uint64_t launched() { return ++tickets_; }
    // The start of the cell holding `ticket` was confirmed `latency` after its launch.
    void start_confirmed(uint64_t ticket, std::chrono::milliseconds latency);

    // Slower than this is falling behind (above).
    std::chrono::milliseconds slow_after() const;
    unsigned drops() const { return drops_; }

  private:
    size_t limit_, floor_, ceiling_;
    std::deque<std::chrono::milliseconds> recent_; // the last starts' times
    uint64_t tickets_ = 0;
    uint64_t dropped_at_ = 0; // tickets up to this one were launched before the last drop
    unsigned drops_ = 0;
};

} // namespace crashloop
