#include "cell_result.hpp"

#include <algorithm>

#include "expectations.hpp"

namespace crashloop {

std::string_view to_string(Verdict verdict) {
    switch (verdict) {
    case Verdict::pass: return "pass";
    case Verdict::fail: return "fail";
    case Verdict::known_deviation: return "known-deviation";
    case Verdict::not_applicable: return "n/a";
    case Verdict::error: return "error";
    }
    return "error";
}

Verdict judge(bool expected_restarted, bool observed_restarted, const KnownDeviation* known) {
    if (observed_restarted == expected_restarted) return Verdict::pass;
    // A listed deviation excuses only the very answer it lists.
    if (known != nullptr && known->restarted == observed_restarted) return Verdict::known_deviation;
    return Verdict::fail;
}

bool MatrixReport::all_good() const {
    return std::all_of(cells.begin(), cells.end(), [](const CellResult& cell) {
        return cell.verdict == Verdict::pass || cell.verdict == Verdict::known_deviation;
    });
}

} // namespace crashloop
