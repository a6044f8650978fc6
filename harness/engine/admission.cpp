#include "admission.hpp"

#include <algorithm>
#include <vector>

namespace crashloop {

Admission::Admission(size_t initial, size_t floor, size_t ceiling)
    : limit_(std::max<size_t>(1, std::min(initial, std::max(floor, ceiling)))),
      floor_(std::max<size_t>(1, floor)), ceiling_(std::max(floor_, ceiling)) {}

namespace {
constexpr size_t kRecent = 32;
constexpr std::chrono::milliseconds kNeverSlowBelow{2000};
} // namespace

std::chrono::milliseconds Admission::slow_after() const {
    if (recent_.empty()) return std::chrono::milliseconds::max();
    std::vector<std::chrono::milliseconds> sorted(recent_.begin(), recent_.end());
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    return std::max(kNeverSlowBelow, 8 * sorted[sorted.size() / 2]);
}

void Admission::start_confirmed(uint64_t ticket, std::chrono::milliseconds latency) {
    const bool slow = latency > slow_after();
    // Every start counts towards what starts take: a machine that stays busy sets a new
    // normal, and the limit grows again from there.
    recent_.push_back(latency);
    if (recent_.size() > kRecent) recent_.pop_front();
    if (!slow) {
        limit_ = std::min(ceiling_, limit_ + 1);
        return;
    }
    if (ticket <= dropped_at_) return; // launched before the last drop: already answered for
    limit_ = std::max(floor_, limit_ - std::max<size_t>(1, limit_ / 4));
    dropped_at_ = tickets_;
    ++drops_;
}

} // namespace crashloop
