// `crashloop check`'s own report: the unit's settings, then each cause in plain words and its
// mark against Table 2; the other formats are the matrix's.
#include <fmt/format.h>

#include <algorithm>

#include "check.hpp"
#include "report.hpp"
#include "text.hpp"
#include "service_settings.hpp"

namespace crashloop {

namespace {

std::string setting_line(const ServiceSettings& s) {
    auto source = [&](const std::string& key) {
        auto it = s.sources.find(key);
        return it == s.sources.end() ? std::string(" (default)") : " (" + it->second + ")";
    };
    std::string line = fmt::format("Restart={}{} · Type={} · RestartSec={}", to_string(s.restart),
                                   source("Restart"), s.type, span_in_words(s.restart_sec));
    line += " · KillSignal=" + signal_name(s.kill_signal) + " · KillMode=" + s.kill_mode;
    line += std::string(" · ExecReload=") + (s.has_exec_reload ? "yes" : "none");
    line += std::string(" · ExecStop=") + (s.has_exec_stop ? "yes" : "none");
    if (s.watchdog) line += " · WatchdogSec=" + span_in_words(*s.watchdog);
    line += fmt::format(" · StartLimitBurst={} in {}", s.start_limit_burst.value_or(5),
                        span_in_words(s.start_limit_interval.value_or(std::chrono::seconds(10))));
    return line;
}


std::string mark(const CellResult& cell, const ExitCause& cause, RestartValue value, bool colour) {
    auto paint = [&](const char* code, const std::string& text) {
        return colour ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
    };
    // --real's own checks (the graceful reloads) are not a row of Table 2.
    if (cause.group == "real" && cell.verdict == Verdict::pass)
        return paint("32", "✓ every reload job done, the main pid kept");
    if (cause.group == "real" && cell.verdict == Verdict::fail) return paint("1;31", "✗ " + printable(cell.reason));
    const std::string manual = cell.expected_restarted ? "restarts" : "stays down";
    switch (cell.verdict) {
    case Verdict::pass:
        return paint("32", fmt::format("✓ as Table 2 says for Restart={}", to_string(value)));
    case Verdict::fail:
        return paint("1;31", fmt::format("✗ differs: Table 2 says it {} under Restart={}", manual,
                                         to_string(value)));
    case Verdict::known_deviation:
        return paint("33", "≈ known deviation: " + printable(cell.reason));
    case Verdict::unexpected_pass: return paint("1;36", "≉ unexpected pass: " + printable(cell.reason));
    case Verdict::not_applicable: return paint("2", "");
    case Verdict::error: return paint("35", "ERR");
    }
    return "";
}

} // namespace


std::string render_check(const CheckReport& report, ReportFormat format, bool colour,
                         bool show_evidence) {
    if (format != ReportFormat::table) return render(report.matrix, format, colour, show_evidence);
    std::string out = "crashloop check: " + printable(report.title) + "\n  " +
                      printable(setting_line(report.settings)) + "\n";
    for (const auto& warning : report.warnings) out += "  warning: " + printable(warning) + "\n";
    for (const auto& note : report.notes) out += "  note: " + printable(note) + "\n";
    out += "\n";
    size_t width = 0;
    for (const auto& cause : report.causes) width = std::max(width, cause.summary.size());
    for (size_t i = 0; i < report.causes.size(); ++i) {
        const CellResult& cell = report.matrix.cells.at(i);
        const std::string words = i < report.answers.size() && !report.answers[i].empty()
                                      ? report.answers[i]
                                      : answer_in_words(cell);
        out += fmt::format("  {:<{}}  {}\n      {}\n", report.causes[i].summary, width, printable(words),
                           mark(cell, report.causes[i], report.settings.restart, colour));
        if (show_evidence && !cell.evidence.empty()) out += "      evidence: " + printable(cell.evidence) + "\n";
    }
    out += "\n" + summary_line(report.matrix) + "\n";
    return out;
}

} // namespace crashloop
