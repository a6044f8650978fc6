#pragma once
// `crashloop soak`, `check` and `check --real` on any supervisor, as the tests of each
// supervisor's folder call them (tests/supervisord/, tests/planted_supervisor/): one call each,
// through the Supervisor interface alone, so the same expectations read the same everywhere.
//
// The real daemon of `check --real` is the fake httpd started from a unit file of its own (no
// plan per cause, no harness in the loop): to the check it is an opaque daemon judged from main
// pids, pidfds and the supervisor's word, like Debian's apache2 in tests/apache/.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "expectations.hpp"
#include "private_systemd.hpp"
#include "real_check.hpp"
#include "registry.hpp"
#include "temp_dir.hpp"
#include "report.hpp"
#include "restart_table.hpp"
#include "soak.hpp"
#include "supervisor.hpp"

namespace run_anywhere {

namespace fs = std::filesystem;
using namespace crashloop;

// "supervisord", "systemctl:/…/planted-systemctl": as --supervisor takes it.
inline std::unique_ptr<Supervisor> make(const std::string& spec) {
    return make_supervisor(spec, {.libexec = libexec_dir(), .scenarios = scenarios_dir()});
}

struct Soaked {
    SoakReport report;
    SoakVerdict verdict;
    std::string story; // the report as the CLI prints it, for failure messages
};

// 20 reloads at 1 in 4 with seed 3: 6 crashes on the schedule, in a few seconds.
inline Soaked soak(const std::string& spec) {
    auto supervisor = make(spec);
    SoakOptions options;
    options.reloads = 20;
    options.interval = std::chrono::milliseconds(20);
    options.crash_probability = 1.0 / 4;
    options.seed = 3;
    options.fixture = libexec_dir() / "fake-httpd";
    options.replay = "(run_anywhere)";
    SoakReport report = run_soak(*supervisor, options);
    const RestartTable table = RestartTable::load(scenarios_dir() / "table.toml");
    const auto expectations =
        Expectations::for_supervisor(scenarios_dir(), supervisor->name(), supervisor->version());
    SoakVerdict verdict = judge_soak(report, table, expectations);
    std::string story = render_soak(report, false);
    return {std::move(report), std::move(verdict), std::move(story)};
}

// The soak's promise, the same on every supervisor: every seeded crash came back, counted alike
// by the fixture, the seed and the supervisor.
inline void expect_every_crash_came_back(const Soaked& s) {
    const SoakReport& r = s.report;
    EXPECT_TRUE(r.errors.empty()) << s.story;
    EXPECT_TRUE(r.not_applicable.empty()) << s.story;
    EXPECT_EQ(r.reloads, 20u) << s.story;
    EXPECT_EQ(r.reloads_logged, 20u) << s.story;
    EXPECT_GT(r.crashes, 0u) << "seed 3 crashes some of 20 reloads at 1 in 4\n" << s.story;
    EXPECT_EQ(r.crashes, r.predicted_crashes) << s.story;
    EXPECT_EQ(int(r.crashes), r.restarts_observed) << s.story;
    EXPECT_EQ(r.restarts_observed, r.supervisor_restarts) << s.story;
    EXPECT_EQ(r.unrecovered, 0u) << s.story;
    EXPECT_TRUE(s.verdict.as_promised) << s.verdict.reason << "\n" << s.story;
}

// `crashloop check UNIT [--dropin …] [--real]` on the supervisor.
inline CheckReport check(const std::string& spec, const fs::path& unit,
                         const std::vector<fs::path>& dropins, const std::string& causes, bool real,
                         unsigned reloads = 3) {
    const auto scenarios = scenarios_dir();
    const RestartTable table = RestartTable::load(scenarios / "table.toml");
    const auto all_causes = load_exit_causes(scenarios / "causes.toml");
    auto supervisor = make(spec);
    const auto expectations =
        Expectations::for_supervisor(scenarios, supervisor->name(), supervisor->version());
    CheckOptions options;
    options.unit = unit;
    options.dropins = dropins;
    options.causes = causes;
    options.real = real;
    options.reloads = reloads;
    options.run.fixture = libexec_dir() / "fake-httpd";
    return run_check(*supervisor, table, expectations, all_causes, options);
}

inline const CellResult& cell_of(const CheckReport& report, const std::string& cause) {
    const auto& cells = report.matrix.cells;
    auto it = std::find_if(cells.begin(), cells.end(),
                           [&](const CellResult& c) { return c.cause == cause; });
    if (it == cells.end()) throw std::runtime_error("no cell for " + cause);
    return *it;
}

inline std::string told(const CellResult& c) {
    return c.cause + ": " + std::string(to_string(c.verdict)) + " (" + c.reason +
           ") evidence: " + c.evidence;
}

// The fake httpd as a plain real daemon: Type=TYPE, Restart=on-failure, RestartSec=500ms, its
// graceful reload as ExecReload=. Returns the unit file's path.
inline fs::path write_real_unit(const fs::path& dir, const std::string& type = "simple") {
    const fs::path fixture = libexec_dir() / "fake-httpd";
    const fs::path unit = dir / "tiny-httpd.service";
    std::ofstream out(unit);
    out << "[Unit]\nDescription=the fake httpd as a plain real daemon\n\n[Service]\n"
        << "Type=" << type << "\n"
        << "ExecStart=" << fixture.string() << " --plan ready,serve --events "
        << (dir / "real.log").string() << " --pidfile " << (dir / "real.pid").string() << "\n"
        << "ExecReload=" << fixture.string() << " -k graceful --pidfile "
        << (dir / "real.pid").string() << "\n"
        << "Restart=on-failure\n"
        // A polling driver reads how the main process ended only between the exit and the
        // restart: 500 ms keeps that window open under load (the default 100 ms may pass
        // between two polls on two busy cores, and the cell then has no verdict).
        << "RestartSec=500ms\n";
    if (!out) throw std::runtime_error("cannot write " + unit.string());
    return unit;
}

// A --real report names the supervisor it ran on, never another.
inline void expect_named(const CheckReport& report, const std::string& name) {
    EXPECT_EQ(report.matrix.supervisor, name);
    for (const auto& cell : report.matrix.cells) {
        if (name != "systemd") {
            EXPECT_EQ(cell.evidence.find("systemd saw"), std::string::npos) << told(cell);
            EXPECT_EQ(cell.evidence.find("systemd last said"), std::string::npos) << told(cell);
        }
    }
    EXPECT_TRUE(std::any_of(report.notes.begin(), report.notes.end(),
                            [&](const std::string& n) {
                                return n.find("crashloop's own " + name) != std::string::npos;
                            }))
        << "no note naming " << name;
}

} // namespace run_anywhere
