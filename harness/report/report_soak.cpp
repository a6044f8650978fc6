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
        if (r.real) {
            one["reload"] = c.reload;
            one["since_reload_ms"] =
                c.since_reload_ms ? nlohmann::ordered_json(round1(*c.since_reload_ms)) : nullptr;
            one["http_downtime_ms"] =
                c.http_downtime_ms ? nlohmann::ordered_json(round1(*c.http_downtime_ms)) : nullptr;
            one["core"] = c.core.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(c.core);
            one["backtrace"] = c.backtrace;
            one["core_note"] = c.core_note;
        }
        crashes.push_back(one);
    }
    j["crash_list"] = crashes;
    j["real"] = r.real;
    if (r.real) {
        j["daemon"] = r.daemon;
        j["injection"] = r.injection.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.injection);
        j["http"] = {{"target", r.http_target.empty() ? nlohmann::ordered_json()
                                                      : nlohmann::ordered_json(r.http_target)},
                     {"clients", r.http_clients}};
        j["cores"] = r.cores;
        if (!r.logrotate.empty()) {
            auto runs = nlohmann::ordered_json::array();
            for (const auto& run : r.logrotate_runs)
                runs.push_back({{"run", run.run},
                                {"daemon_up", run.daemon_up},
                                {"exit", run.exit_code},
                                {"asked", run.asked},
                                {"said", run.said}});
            j["logrotate"] = {{"config", r.logrotate}, {"runs", runs}};
        }
    }
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
        r.real ? fmt::format("crashloop soak --real: {} under Restart={}, {}\n", r.unit,
                             to_string(r.restart),
                             r.injection.empty()
                                 ? std::string("no injection")
                                 : fmt::format("reload crash {} ({}), seed {}",
                                               probability_text(r.crash_probability), r.fault, r.seed))
               : fmt::format("crashloop soak: {} under Restart={}, reload crash {} ({}), seed {}\n",
                             r.unit, to_string(r.restart), probability_text(r.crash_probability),
                             r.fault, r.seed);
    if (r.real) {
        out += "  daemon: " + printable(r.daemon) + "\n";
        if (!r.injection.empty()) out += "  injection: " + printable(r.injection) + "\n";
        out += "  HTTP load: " +
               (r.http_target.empty() ? std::string("none")
                                      : fmt::format("{} clients on {}", r.http_clients, r.http_target)) +
               "\n";
        out += "  cores: " + printable(r.cores) + "\n";
        if (!r.logrotate.empty())
            out += "  reloads asked by: logrotate -f with " + printable(r.logrotate) + "\n";
    }
    out += "  start limit: " + r.start_limit + "\n";
    for (const auto& warning : r.warnings)
        out += "  warning: " + printable(warning) + "\n";
    for (const auto& note : r.notes)
        out += "  note: " + printable(note) + "\n";
    out += "\n";
    auto line = [&out](const char* label, const std::string& text) {
        out += fmt::format("  {:<20} {}\n", label, text);
    };
    const char* logger = r.real ? "the injection library" : "the fixture";
    line("reloads",
         r.real && r.injection.empty()
             ? fmt::format("{} of {} asked, {:.1f}/s over {} ms", r.reloads, r.reloads_planned,
                           r.reloads_per_s, r.wall.count())
             : fmt::format("{} of {} asked ({} logged by {}), {:.1f}/s over {} ms", r.reloads,
                           r.reloads_planned, r.reloads_logged, logger, r.reloads_per_s,
                           r.wall.count()));
    line("crashes", r.real && r.injection.empty()
                        ? std::to_string(r.crashes)
                        : fmt::format("{} (the seed predicts {} over the reloads logged)",
                                      r.crashes, r.predicted_crashes));
    line("restarts", fmt::format("{} observed ({}), {} counted by {} (NRestarts)",
                                 r.restarts_observed,
                                 r.real ? "distinct main pids" : "fixture incarnations",
                                 r.supervisor_restarts, r.supervisor));
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
            std::string text;
            if (r.real) {
                text = c.reload ? fmt::format("reload {}", c.reload) : std::string("before any reload");
                if (c.k != UINT64_MAX) text += fmt::format(" (k={})", c.k);
                if (c.since_reload_ms) text += fmt::format(", {:.1f} ms after it was asked", *c.since_reload_ms);
            } else {
                text = c.k == UINT64_MAX ? std::string("outside a reload") : fmt::format("reload k={}", c.k);
            }
            text += fmt::format(": {} (incarnation {}, pid {})", c.what, c.incarnation, c.pid);
            if (!c.supervisor_saw.empty()) text += "; " + r.supervisor + " saw " + c.supervisor_saw;
            text += c.downtime_ms
                        ? fmt::format("; back after {:.1f} ms (pid {})", *c.downtime_ms, c.next_pid)
                        : std::string("; never came back");
            if (c.http_downtime_ms)
                text += fmt::format("; HTTP down for {:.1f} ms", *c.http_downtime_ms);
            out += "    " + printable(text) + "\n";
            if (!c.core.empty()) out += "      core: " + printable(c.core) + "\n";
            if (!c.backtrace.empty()) {
                out += "      backtrace (gdb):\n";
                for (const auto& frame : c.backtrace)
                    out += "        " + printable(frame) + "\n";
            }
            if (!c.core_note.empty()) out += "      " + printable(c.core_note) + "\n";
        }
    }
    if (!r.logrotate_runs.empty()) {
        // Every run is in the JSON; here the ones worth a look: a failure, no reload asked, a
        // run with the daemon down.
        unsigned quiet = 0;
        std::string shown;
        for (const auto& run : r.logrotate_runs) {
            if (run.exit_code == 0 && run.asked.size() == 1 && run.daemon_up &&
                run.asked.front().ends_with(": done")) {
                ++quiet;
                continue;
            }
            std::string asked;
            for (const auto& a : run.asked)
                asked += (asked.empty() ? "" : "; ") + a;
            shown += fmt::format("    run {}{}: logrotate exited {}; its scripts asked {}\n", run.run,
                                 run.daemon_up ? "" : " (the daemon down)", run.exit_code,
                                 asked.empty() ? "for nothing" : asked);
            for (const auto& line : run.said)
                shown += "      " + printable(line) + "\n";
        }
        out += fmt::format("\n  logrotate runs: {} in all, {} rotated and reloaded cleanly\n",
                           r.logrotate_runs.size(), quiet) + shown;
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
