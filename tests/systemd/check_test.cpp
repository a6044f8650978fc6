// `crashloop check` on the story's units, against the built-in systemd: the
// operator's hand check (kill -s SIGABRT, plain kill) made exact.
#include <gtest/gtest.h>

#include <algorithm>

#include "check.hpp"
#include "private_systemd.hpp"
#include "registry.hpp"
#include "service_settings.hpp"
#include "supervisor.hpp"

using namespace crashloop;

namespace {

CheckReport check(const std::string& unit, const std::vector<std::string>& dropins,
                  const std::string& causes) {
    const auto scenarios = scenarios_dir();
    const RestartTable table = RestartTable::load(scenarios / "table.toml");
    const auto all_causes = load_exit_causes(scenarios / "causes.toml");
    auto supervisor = make_supervisor("systemd", {.libexec = libexec_dir(), .scenarios = scenarios_dir()});
    const auto expectations = Expectations::for_supervisor(scenarios, supervisor->name(), supervisor->version());
    CheckOptions options;
    options.unit = scenarios / "units" / unit;
    for (const auto& dropin : dropins) options.dropins.push_back(scenarios / "units" / dropin);
    options.causes = causes;
    options.run.fixture = libexec_dir() / "fake-httpd";
    return run_check(*supervisor, table, expectations, all_causes, options);
}

const CellResult& cell_of(const CheckReport& report, const std::string& cause) {
    auto it = std::find_if(report.matrix.cells.begin(), report.matrix.cells.end(),
                           [&](const CellResult& cell) { return cell.cause == cause; });
    if (it == report.matrix.cells.end()) throw std::runtime_error("no cell for " + cause);
    return *it;
}

std::string told(const CellResult& cell) {
    return cell.cause + ": " + std::string(to_string(cell.verdict)) + " (" + cell.reason +
           ") evidence: " + cell.evidence;
}

constexpr const char* kStoryCauses = "exit-0,sigabrt,sigsegv,kill-sigabrt,kill-sigterm,reload-sigabrt";

TEST(CheckHttpd, with_the_override_aborts_come_back_and_a_plain_kill_stays_down) {
    const auto report = check("httpd.service", {"httpd.service.d/override.conf"}, kStoryCauses);
    EXPECT_EQ(report.settings.restart, RestartValue::on_failure);
    EXPECT_TRUE(report.ok());
    for (const char* comes_back : {"sigabrt", "sigsegv", "kill-sigabrt", "reload-sigabrt"}) {
        const auto& cell = cell_of(report, comes_back);
        EXPECT_TRUE(cell.observed.restarted) << told(cell);
        EXPECT_EQ(cell.verdict, Verdict::pass) << told(cell);
        ASSERT_GE(cell.observed.incarnations.size(), 2u) << told(cell);
        EXPECT_NE(cell.observed.incarnations[0].pid, cell.observed.incarnations[1].pid);
    }
    for (const char* stays_down : {"exit-0", "kill-sigterm"}) {
        const auto& cell = cell_of(report, stays_down);
        EXPECT_FALSE(cell.observed.restarted) << told(cell);
        EXPECT_EQ(cell.observed.final_state, "inactive/dead") << told(cell);
        EXPECT_EQ(cell.verdict, Verdict::pass) << told(cell);
    }
}

TEST(CheckHttpd, without_the_override_nothing_comes_back) {
    const auto report = check("httpd.service", {}, kStoryCauses);
    EXPECT_EQ(report.settings.restart, RestartValue::no);
    for (const auto& cell : report.matrix.cells) {
        EXPECT_FALSE(cell.observed.restarted) << told(cell);
        EXPECT_EQ(cell.verdict, Verdict::pass) << told(cell);
    }
}

// Where check sets TimeoutStartSec= in place of the unit's, the note says so with
// the value the cell actually ran with: the cause's start_timeout_ms, doubled for
// each attempt run again (runner.cpp), and the unit's own value.
TEST(CheckHttpd, a_shortened_TimeoutStartSec_is_named_with_the_value_used) {
    const auto report = check("httpd.service", {"httpd.service.d/override.conf"},
                              "start-timeout,reload-timeout,exit-0");
    const auto causes = load_exit_causes(scenarios_dir() / "causes.toml");
    for (const char* id : {"start-timeout", "reload-timeout"}) {
        const auto cause = std::find_if(causes.begin(), causes.end(),
                                        [&](const ExitCause& c) { return c.id == id; });
        ASSERT_NE(cause, causes.end());
        ASSERT_TRUE(cause->start_timeout_ms.has_value()) << id;
        const auto& cell = cell_of(report, id);
        size_t retries = 0;
        for (size_t at = cell.evidence.find("; attempt "); at != std::string::npos;
             at = cell.evidence.find("; attempt ", at + 1))
            ++retries;
        const std::string used =
            "TimeoutStartSec= is " +
            span_in_words(std::chrono::milliseconds(*cause->start_timeout_ms << retries)) +
            " (the unit's: 90 s)";
        ASSERT_EQ(cell.overrides.size(), 1u) << told(cell);
        EXPECT_TRUE(cell.overrides[0].starts_with(used)) << cell.overrides[0] << " / " << used;
        EXPECT_TRUE(std::any_of(report.notes.begin(), report.notes.end(),
                                [&](const std::string& note) {
                                    return note.starts_with(cell.overrides[0]) &&
                                           note.find(id) != std::string::npos;
                                }))
            << "no note for " << cell.overrides[0];
    }
    EXPECT_TRUE(cell_of(report, "exit-0").overrides.empty())
        << "the unit's 90 s is generous enough: " << cell_of(report, "exit-0").overrides.front();
}

TEST(CheckApache2, a_forking_daemon_under_on_abort) {
    const auto report = check("apache2.service", {}, "sigabrt,sigsegv,exit-1,kill-sigterm,crash-loop");
    EXPECT_EQ(report.settings.type, "forking");
    EXPECT_TRUE(report.ok());
    EXPECT_TRUE(cell_of(report, "sigabrt").observed.restarted) << told(cell_of(report, "sigabrt"));
    EXPECT_TRUE(cell_of(report, "sigsegv").observed.restarted) << told(cell_of(report, "sigsegv"));
    EXPECT_FALSE(cell_of(report, "exit-1").observed.restarted) << told(cell_of(report, "exit-1"));
    EXPECT_FALSE(cell_of(report, "kill-sigterm").observed.restarted)
        << told(cell_of(report, "kill-sigterm"));
    const auto& loop = cell_of(report, "crash-loop");
    EXPECT_TRUE(loop.observed.start_limit_hit) << told(loop);
}

} // namespace
