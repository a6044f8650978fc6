#include "check.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "input_error.hpp"
#include "private_systemd.hpp"
#include "real_check.hpp"
#include "supervisor.hpp"
#include "unit_file.hpp"

namespace crashloop {

namespace {

std::string span_text(std::chrono::microseconds span) {
    if (span == infinite_time) return "infinity";
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(span).count();
    if (ms % 1000 == 0) return fmt::format("{} s", ms / 1000);
    return fmt::format("{} ms", ms);
}

// Why a cause cannot be asked of this unit, or "" when it can.
std::string not_applicable(const ExitCause& cause, const ServiceSettings& unit) {
    if (!played_by_fake_httpd(unit))
        return "Type=" + unit.type + " is not played by the fake httpd";
    if (cause.trigger == Trigger::reload && !unit.has_exec_reload)
        return "the unit has no ExecReload=, so there is no reload to ask for";
    if (cause.outcome.kind == Outcome::Kind::watchdog && !unit.watchdog)
        return "the unit sets no WatchdogSec=";
    if (cause.outcome.kind == Outcome::Kind::timeout && cause.trigger != Trigger::reload &&
        unit.type != "notify")
        return "a Type=" + unit.type + " service has no start-up phase that could time out here";
    return "";
}

std::string title_of(const CheckOptions& options) {
    std::string title = options.unit.filename().string();
    for (const auto& dropin : options.dropins) title += " + " + dropin.filename().string();
    return title;
}

std::string setting_line(const ServiceSettings& s) {
    auto source = [&](const std::string& key) {
        auto it = s.sources.find(key);
        return it == s.sources.end() ? std::string(" (default)") : " (" + it->second + ")";
    };
    std::string line = fmt::format("Restart={}{} · Type={} · RestartSec={}", to_string(s.restart),
                                   source("Restart"), s.type, span_text(s.restart_sec));
    line += " · KillSignal=" + signal_name(s.kill_signal) + " · KillMode=" + s.kill_mode;
    line += std::string(" · ExecReload=") + (s.has_exec_reload ? "yes" : "none");
    line += std::string(" · ExecStop=") + (s.has_exec_stop ? "yes" : "none");
    if (s.watchdog) line += " · WatchdogSec=" + span_text(*s.watchdog);
    line += fmt::format(" · StartLimitBurst={} in {}", s.start_limit_burst.value_or(5),
                        span_text(s.start_limit_interval.value_or(std::chrono::seconds(10))));
    return line;
}

} // namespace

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

namespace {

std::string mark(const CellResult& cell, const ExitCause& cause, RestartValue value, bool colour) {
    auto paint = [&](const char* code, const std::string& text) {
        return colour ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
    };
    // --real's own checks (the graceful reloads) are not a row of Table 2.
    if (cause.group == "real" && cell.verdict == Verdict::pass)
        return paint("32", "✓ every reload job done, the main pid kept");
    if (cause.group == "real" && cell.verdict == Verdict::fail) return paint("1;31", "✗ " + cell.reason);
    const std::string manual = cell.expected_restarted ? "restarts" : "stays down";
    switch (cell.verdict) {
    case Verdict::pass:
        return paint("32", fmt::format("✓ as Table 2 says for Restart={}", to_string(value)));
    case Verdict::fail:
        return paint("1;31", fmt::format("✗ differs: Table 2 says it {} under Restart={}", manual,
                                         to_string(value)));
    case Verdict::known_deviation:
        return paint("33", "≈ known deviation: " + cell.reason);
    case Verdict::unexpected_pass: return paint("1;36", "≉ unexpected pass: " + cell.reason);
    case Verdict::not_applicable: return paint("2", "");
    case Verdict::error: return paint("35", "ERR");
    }
    return "";
}

} // namespace

bool CheckReport::ok() const { return matrix.all_good(); }

CheckReport run_check(Supervisor& supervisor, const RestartTable& table,
                      const Expectations& expectations, const std::vector<ExitCause>& all_causes,
                      const CheckOptions& options) {
    CheckReport report;
    report.title = title_of(options);
    const UnitFile unit = UnitFile::load(options.unit, options.dropins);
    report.warnings = unit.warnings();
    report.settings = service_settings(unit);
    const ServiceSettings& settings = report.settings;

    if (options.real) {
        // The real daemon runs only where everything it does is gone with the
        // manager: the built-in private systemd, never the host's.
        if (supervisor.name() != "systemd" || supervisor.events_dir() != PrivateSystemd::events_dir)
            throw InputError("--real", 0,
                             "runs the unit's real daemon on the built-in private systemd only "
                             "(--supervisor systemd)");
        std::vector<ExitCause> causes = select_causes(all_causes, options.causes);
        for (ExitCause& cause : causes) cause.rules.add(settings.rules);
        return run_real_check(supervisor, table, expectations, unit, std::move(report), causes, options);
    }

    std::vector<ExitCause> runnable;
    std::vector<std::pair<size_t, std::string>> skipped; // index in report.causes, reason
    bool shortened_start = false, shortened_watchdog = false;
    for (ExitCause cause : select_causes(all_causes, options.causes)) {
        // The manual's answer takes the unit's own exit status rules into account.
        cause.rules.add(settings.rules);
        if (auto reason = not_applicable(cause, settings); !reason.empty()) {
            skipped.emplace_back(report.causes.size(), reason);
        } else {
            shortened_start = shortened_start || cause.start_timeout_ms.has_value();
            shortened_watchdog = shortened_watchdog || cause.watchdog_ms.has_value();
            runnable.push_back(cause);
        }
        report.causes.push_back(cause);
    }
    if (shortened_start)
        report.notes.push_back(fmt::format(
            "TimeoutStartSec= is {} for the timeout causes (the unit's: {}), so that a timeout "
            "takes well under a second",
            "500 ms", settings.timeout_start ? span_text(*settings.timeout_start) : "90 s, the default"));
    if (shortened_watchdog && settings.watchdog)
        report.notes.push_back("WatchdogSec= is 500 ms for the watchdog cause (the unit's: " +
                               span_text(*settings.watchdog) + ")");
    report.notes.push_back("the fake httpd stands in for " +
                           (settings.exec_start.empty() ? std::string("the daemon")
                                                        : settings.exec_start.front()) +
                           (settings.has_exec_reload ? "; ExecReload= is `fake-httpd -k graceful`" : "") +
                           (settings.has_exec_stop ? "; ExecStop= is `fake-httpd -k graceful-stop`" : ""));

    RunOptions run = options.run;
    run.restarts = {settings.restart};
    run.causes = runnable;
    run.unit = &report.settings;
    MatrixReport ran;
    if (!runnable.empty()) ran = run_matrix(supervisor, table, expectations, run);

    report.matrix = ran;
    report.matrix.restarts = {settings.restart};
    report.matrix.causes.clear();
    report.matrix.cells.clear();
    size_t next_ran = 0, next_skipped = 0;
    for (size_t i = 0; i < report.causes.size(); ++i) {
        const ExitCause& cause = report.causes[i];
        report.matrix.causes.push_back(cause.id);
        if (next_skipped < skipped.size() && skipped[next_skipped].first == i) {
            CellResult cell;
            cell.restart = settings.restart;
            cell.cause = cause.id;
            cell.expected_restarted = expected_restart(table, settings.restart, cause);
            cell.verdict = Verdict::not_applicable;
            cell.reason = skipped[next_skipped++].second;
            report.matrix.cells.push_back(cell);
        } else {
            report.matrix.cells.push_back(ran.cells.at(next_ran++));
        }
    }
    return report;
}

std::string render_check(const CheckReport& report, ReportFormat format, bool colour,
                         bool show_evidence) {
    if (format != ReportFormat::table) return render(report.matrix, format, colour, show_evidence);
    std::string out = "crashloop check: " + report.title + "\n  " + setting_line(report.settings) + "\n";
    for (const auto& warning : report.warnings) out += "  warning: " + warning + "\n";
    for (const auto& note : report.notes) out += "  note: " + note + "\n";
    out += "\n";
    size_t width = 0;
    for (const auto& cause : report.causes) width = std::max(width, cause.summary.size());
    for (size_t i = 0; i < report.causes.size(); ++i) {
        const CellResult& cell = report.matrix.cells.at(i);
        const std::string words = i < report.answers.size() && !report.answers[i].empty()
                                      ? report.answers[i]
                                      : answer_in_words(cell);
        out += fmt::format("  {:<{}}  {}\n      {}\n", report.causes[i].summary, width, words,
                           mark(cell, report.causes[i], report.settings.restart, colour));
        if (show_evidence && !cell.evidence.empty()) out += "      evidence: " + cell.evidence + "\n";
    }
    out += "\n" + summary_line(report.matrix) + "\n";
    return out;
}

} // namespace crashloop
