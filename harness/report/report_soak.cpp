// `crashloop soak`'s report: the text a person reads, or the JSON contract (README "crashloop
// soak").
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "report.hpp"
#include "text.hpp"
#include "soak.hpp"

namespace crashloop {

namespace {

double round1(double value) {
    return std::round(value * 10) / 10;
}

// The JSON contract (README "crashloop soak").
std::string soak_json(const SoakReport& r) {
    nlohmann::ordered_json j;
    j["seed"] = r.seed;
    j["reloads"] = r.reloads;
    j["crashes"] = r.crashes;
    j["restarts_observed"] = r.restarts_observed;
    j["supervisor_restarts"] = r.supervisor_restarts;
    j["unrecovered"] = r.unrecovered;
    j["probes"] = r.probes;
    j["probes_failed"] = r.probes_failed;
    j["start_limit_hit"] = r.start_limit_hit;
    nlohmann::ordered_json d;
    for (const char* key : {"min", "median", "p99", "max"})
        d[key] = nullptr;
    if (r.downtime) {
        d["min"] = round1(r.downtime->min);
        d["median"] = round1(r.downtime->median);
        d["p99"] = round1(r.downtime->p99);
        d["max"] = round1(r.downtime->max);
    }
    j["downtime_ms"] = d;
    j["reloads_per_s"] = round1(r.reloads_per_s);
    j["replay"] = r.replay;
    j["supervisor"] = {{"name", r.supervisor}, {"version", r.supervisor_version}};
    j["not_applicable"] = r.not_applicable.empty() ? nlohmann::ordered_json()
                                                   : nlohmann::ordered_json(r.not_applicable);
    j["unit"] = r.unit;
    j["restart"] = std::string(to_string(r.restart));
    j["fault"] = r.fault;
    j["crash_probability"] = r.crash_probability;
    j["workers"] = r.workers;
    j["reloads_planned"] = r.reloads_planned;
    j["reloads_logged"] = r.reloads_logged;
    j["predicted_crashes"] = r.predicted_crashes;
    j["probe_failures"] = {
        {"refused", r.probes_refused}, {"timed_out", r.probes_timed_out}, {"bad", r.probes_bad}};
    j["start_limit"] = r.start_limit;
    j["wall_ms"] = r.wall.count();
    j["final_state"] = r.final_state;
    j["final_result"] = r.final_result;
    j["ended_early"] =
        r.ended_early.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.ended_early);
    auto crashes = nlohmann::ordered_json::array();
    for (const auto& c : r.crash_list) {
        nlohmann::ordered_json one;
        one["k"] = c.k == UINT64_MAX ? nlohmann::ordered_json() : nlohmann::ordered_json(c.k);
        one["incarnation"] = c.incarnation;
        one["pid"] = c.pid;
        one["what"] = c.what;
        one["downtime_ms"] =
            c.downtime_ms ? nlohmann::ordered_json(round1(*c.downtime_ms)) : nullptr;
        one["next_pid"] = c.next_pid ? nlohmann::ordered_json(c.next_pid) : nullptr;
        one["supervisor_saw"] = c.supervisor_saw;
        crashes.push_back(one);
    }
    j["crash_list"] = crashes;
    j["notes"] = r.notes;
    j["warnings"] = r.warnings;
    j["errors"] = r.errors;
    if (r.verdict)
        j["verdict"] = {{"as_promised", r.verdict->as_promised}, {"reason", r.verdict->reason}};
    // Invalid UTF-8 (a daemon's bytes in an error) must not abort the report: dump() throws.
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// The report a person reads: the run's settings, the accounting, then every crash.
std::string soak_text(const SoakReport& r) {
    std::string out =
        fmt::format("crashloop soak: {} under Restart={}, reload crash {} ({}), seed {}\n", r.unit,
                    to_string(r.restart), probability_text(r.crash_probability), r.fault, r.seed);
    out += "  start limit: " + r.start_limit + "\n";
    for (const auto& warning : r.warnings)
        out += "  warning: " + printable(warning) + "\n";
    for (const auto& note : r.notes)
        out += "  note: " + printable(note) + "\n";
    out += "\n";
    auto line = [&out](const char* label, const std::string& text) {
        out += fmt::format("  {:<20} {}\n", label, text);
    };
    line("reloads",
         fmt::format("{} of {} asked ({} logged by the fixture), {:.1f}/s over {} ms", r.reloads,
                     r.reloads_planned, r.reloads_logged, r.reloads_per_s, r.wall.count()));
    line("crashes", fmt::format("{} (the seed predicts {} over the reloads logged)", r.crashes,
                                r.predicted_crashes));
    line("restarts", fmt::format("{} observed (fixture incarnations), {} counted by {} (NRestarts)",
                                 r.restarts_observed, r.supervisor_restarts, r.supervisor));
    line("unrecovered", std::to_string(r.unrecovered));
    line("HTTP probes",
         fmt::format("{} sent, {} failed ({} refused, {} timed out, {} bad answer)", r.probes,
                     r.probes_failed, r.probes_refused, r.probes_timed_out, r.probes_bad));
    if (r.downtime)
        line("downtime per crash",
             fmt::format("min {:.1f} ms · median {:.1f} ms · p99 {:.1f} ms · max {:.1f} ms",
                         r.downtime->min, r.downtime->median, r.downtime->p99, r.downtime->max));
    else
        line("downtime per crash", "-");
    line("start limit hit", r.start_limit_hit ? "yes" : "no");
    line("final state",
         r.final_state + (r.final_result.empty() ? "" : ", Result=" + r.final_result));
    if (!r.ended_early.empty()) line("ended early", r.ended_early);
    if (!r.crash_list.empty()) {
        out += "\n  crashes:\n";
        for (const auto& c : r.crash_list) {
            std::string text = c.k == UINT64_MAX ? std::string("outside a reload")
                                                 : fmt::format("reload k={}", c.k);
            text += fmt::format(": {} (incarnation {}, pid {})", c.what, c.incarnation, c.pid);
            if (!c.supervisor_saw.empty()) text += "; " + r.supervisor + " saw " + c.supervisor_saw;
            text += c.downtime_ms
                        ? fmt::format("; back after {:.1f} ms (pid {})", *c.downtime_ms, c.next_pid)
                        : std::string("; never came back");
            out += "    " + printable(text) + "\n";
        }
    }
    for (const auto& error : r.errors)
        out += "\n  error: " + printable(error);
    if (!r.errors.empty()) out += "\n";
    if (r.verdict)
        out += fmt::format("\n{} {}\n", r.verdict->as_promised ? "✓" : "✗", printable(r.verdict->reason));
    out += "\nreplay: " + r.replay + "\n";
    return out;
}

} // namespace

std::string render_soak(const SoakReport& r, bool json) {
    return json ? soak_json(r) : soak_text(r);
}

} // namespace crashloop
