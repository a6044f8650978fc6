// The systemd-host driver, pointed at a real running systemd: the private
// manager crashloop starts (this machine's PID 1 need not be systemd). It must
// refuse without --allow-host, name every unit with a prefix of its own, and
// leave nothing behind: every unit it made is gone from the manager after it.
#include <gtest/gtest.h>

#include <optional>

#include "exit_cause.hpp"
#include "expectations.hpp"
#include "errors.hpp"
#include "private_systemd.hpp"
#include "restart_table.hpp"
#include "runner.hpp"
#include "registry.hpp"
#include "supervisor.hpp"
#include "systemd_bus.hpp"

using namespace crashloop;

namespace {

DriverContext context(bool allow_host) {
    return {.libexec = libexec_dir(), .scenarios = scenarios_dir(), .allow_host = allow_host};
}

TEST(SystemdHost, refuses_without_allow_host) {
    EXPECT_THROW(make_supervisor("systemd-host", context(false)), InputError);
}

TEST(SystemdHost, runs_cells_under_its_own_prefix_and_removes_every_unit_it_made) {
    PrivateSystemd host({libexec_dir() / "crashloop-sandbox"});
    const RestartTable table = RestartTable::load(scenarios_dir() / "table.toml");
    const auto causes = load_exit_causes(scenarios_dir() / "causes.toml");
    RunOptions options;
    options.restarts = {RestartValue::on_failure};
    options.causes = select_causes(causes, "sigabrt,exit-0,stop");
    options.fixture = libexec_dir() / "fake-httpd";

    std::string prefix;
    MatrixReport report;
    {
        auto supervisor = make_supervisor("systemd-host:" + host.bus_address(), context(true));
        prefix = supervisor->service_prefix();
        EXPECT_TRUE(prefix.starts_with("crashloop-") && prefix != "crashloop-") << prefix;
        report = run_matrix(*supervisor, table, Expectations{}, options);
    }
    ASSERT_EQ(report.cells.size(), 3u);
    for (const auto& cell : report.cells)
        EXPECT_EQ(cell.verdict, Verdict::pass) << cell.cause << ": " << cell.reason << " / " << cell.evidence;

    // Asked afresh, the manager knows none of the run's units any more.
    SystemdBus bus(host.bus_address());
    for (const char* id : {"on-failure-sigabrt", "on-failure-exit-0", "on-failure-stop", "anchor-1"}) {
        std::optional<ServiceState> state;
        std::string error;
        bus.snapshot(SystemdBus::unit_path(prefix + id + ".service"),
                     [&](const std::string& e, const ServiceState& s) { error = e, state = s; });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!state && std::chrono::steady_clock::now() < deadline) bus.wait(deadline, -1);
        ASSERT_TRUE(state) << id;
        EXPECT_TRUE(error.empty() && state->load_state == "not-found")
            << id << ": " << error << " " << state->load_state << " " << state->state();
    }
}

} // namespace
