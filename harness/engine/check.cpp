#include "check.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "errors.hpp"
#include "real_check.hpp"
#include "supervisor.hpp"
#include "unit_file.hpp"

namespace crashloop {

namespace {

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

// Each setting the runner set in place of the unit's, as it was sent, with the
// causes it was sent for: "TimeoutStartSec= is 500 ms (the unit's: 90 s), so that
// … (start-timeout, reload-timeout)".
void overrides_to_notes(const MatrixReport& ran, std::vector<std::string>& notes) {
    std::vector<std::pair<std::string, std::string>> by_text; // override → causes, in order
    for (const CellResult& cell : ran.cells)
        for (const std::string& text : cell.overrides) {
            auto it = std::find_if(by_text.begin(), by_text.end(),
                                   [&](const auto& entry) { return entry.first == text; });
            if (it == by_text.end())
                by_text.emplace_back(text, cell.cause);
            else
                it->second += ", " + cell.cause;
        }
    for (const auto& [text, causes] : by_text)
        notes.push_back(text + " (" + causes + ")");
}

std::string title_of(const CheckOptions& options) {
    std::string title = options.unit.filename().string();
    for (const auto& dropin : options.dropins) title += " + " + dropin.filename().string();
    return title;
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
        std::vector<ExitCause> causes = select_causes(all_causes, options.causes);
        for (ExitCause& cause : causes) cause.rules.add(settings.rules);
        return run_real_check(supervisor, table, expectations, unit, std::move(report), causes, options);
    }

    std::vector<ExitCause> runnable;
    std::vector<std::pair<size_t, std::string>> skipped; // index in report.causes, reason
    for (ExitCause cause : select_causes(all_causes, options.causes)) {
        // The manual's answer takes the unit's own exit status rules into account.
        cause.rules.add(settings.rules);
        if (auto reason = not_applicable(cause, settings); !reason.empty()) {
            skipped.emplace_back(report.causes.size(), reason);
        } else {
            runnable.push_back(cause);
        }
        report.causes.push_back(cause);
    }
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

    overrides_to_notes(ran, report.notes);
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

} // namespace crashloop
