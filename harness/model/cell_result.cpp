#include "cell_result.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "expectations.hpp"

namespace crashloop {

std::string_view to_string(Verdict verdict) {
    switch (verdict) {
    case Verdict::pass: return "pass";
    case Verdict::fail: return "fail";
    case Verdict::known_deviation: return "known-deviation";
    case Verdict::unexpected_pass: return "unexpected-pass";
    case Verdict::not_applicable: return "n/a";
    case Verdict::error: return "error";
    }
    return "error";
}

Verdict judge(bool expected_restarted, bool observed_restarted, const KnownDeviation* known) {
    if (observed_restarted == expected_restarted)
        // A listed cell that agrees with the manual makes the expectations file
        // wrong: say so, or the file keeps excusing a deviation that is gone.
        return known == nullptr ? Verdict::pass : Verdict::unexpected_pass;
    // A listed deviation excuses only the very answer it lists.
    if (known != nullptr && known->restarted == observed_restarted) return Verdict::known_deviation;
    return Verdict::fail;
}

std::string unexpected_pass_reason(const KnownDeviation& known) {
    return fmt::format("listed as a known deviation ({}:{}: {}) but now agrees with the manual",
                       known.file, known.line, known.reason);
}

bool MatrixReport::all_good() const {
    return std::all_of(cells.begin(), cells.end(), [](const CellResult& cell) {
        return cell.verdict == Verdict::pass || cell.verdict == Verdict::known_deviation ||
               cell.verdict == Verdict::not_applicable;
    });
}

std::string answer_in_words(const CellResult& cell) {
    const Observation& o = cell.observed;
    switch (cell.verdict) {
    case Verdict::not_applicable: return "n/a: " + cell.reason;
    case Verdict::error: return "no answer: " + cell.reason;
    default: break;
    }
    if (o.restarted && o.start_limit_hit && o.incarnations.size() >= 2) {
        const double seconds =
            double(o.incarnations.back().started_ns - o.incarnations.front().started_ns) / 1e9;
        return fmt::format("crash loop: restarted {} times, then start-limit-hit after {} starts in "
                           "{:.1f} s ({}, Result={})",
                           o.restarts, o.incarnations.size(), seconds, o.final_state, o.final_result);
    }
    if (o.restarted) {
        std::string text = "restarted";
        if (o.delay_ms) text += fmt::format(" after {} ms", *o.delay_ms);
        if (o.incarnations.size() >= 2) text += fmt::format(" (new main pid {})", o.incarnations[1].pid);
        return text;
    }
    if (o.final_state == "active/running" && !o.incarnations.empty())
        return fmt::format("no restart: still running (main pid {})", o.incarnations[0].pid);
    return fmt::format("stays down ({}, Result={})", o.final_state, o.final_result);
}

} // namespace crashloop
