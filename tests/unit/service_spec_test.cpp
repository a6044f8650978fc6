// The one translation of a unit's settings into a ServiceSpec (service_spec.hpp):
// the manager's defaults where the unit sets none, infinity kept, and every
// value crashloop sets in place of the unit's recorded with the value used.
// That systemd holds what the spec asks is tests/systemd/service_spec_readback_test.cpp.
#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "service_settings.hpp"
#include "service_spec.hpp"
#include "temp_dir.hpp"
#include "unit_file.hpp"

namespace crashloop {
namespace {

using namespace std::chrono_literals;

ServiceSettings settings_of(const std::string& text) {
    TempDir dir;
    return service_settings(UnitFile::load(dir.write("x.service", text), {}));
}

TEST(ServiceSpecOf, unset_timeouts_are_the_managers_defaults) {
    const ServiceSpec s = service_spec_of(settings_of("[Service]\nExecStart=/bin/true\n"));
    EXPECT_EQ(s.timeout_start, 90s);
    EXPECT_EQ(s.timeout_stop, 90s);
    EXPECT_EQ(s.type, "simple");
    EXPECT_EQ(s.kill_signal, SIGTERM);
    EXPECT_EQ(s.kill_mode, "control-group");
    EXPECT_FALSE(s.start_limit_interval);
    EXPECT_FALSE(s.start_limit_burst);
    EXPECT_TRUE(s.overrides.empty());
}

TEST(ServiceSpecOf, a_oneshot_service_has_no_start_timeout_unless_it_sets_one) {
    EXPECT_EQ(service_spec_of(settings_of("[Service]\nType=oneshot\nExecStart=/bin/true\n"))
                  .timeout_start,
              infinite_time);
    EXPECT_EQ(service_spec_of(
                  settings_of("[Service]\nType=oneshot\nExecStart=/bin/true\nTimeoutStartSec=5s\n"))
                  .timeout_start,
              5s);
}

TEST(ServiceSpecOf, infinity_and_0_stay_infinity) {
    const ServiceSpec s = service_spec_of(settings_of(
        "[Service]\nExecStart=/bin/true\nTimeoutStartSec=infinity\nTimeoutStopSec=0\n"));
    EXPECT_EQ(s.timeout_start, infinite_time);
    EXPECT_EQ(s.timeout_stop, infinite_time);
}

TEST(ServiceSpecOf, carries_environment_and_the_first_of_each_command) {
    const ServiceSpec s = service_spec_of(settings_of(
        "[Service]\nExecStart=/usr/sbin/httpd -DFOREGROUND\nEnvironment=LANG=C \"A=b c\"\n"
        "ExecReload=/bin/kill -HUP $MAINPID\nExecReload=/bin/true\nExecStop=/bin/false\n"
        "TimeoutStopSec=5s\nKillSignal=SIGWINCH\nSuccessExitStatus=42\n"));
    EXPECT_EQ(s.environment, (std::vector<std::string>{"LANG=C", "A=b c"}));
    EXPECT_EQ(s.exec_start, (std::vector<std::string>{"/usr/sbin/httpd", "-DFOREGROUND"}));
    EXPECT_EQ(s.exec_reload, (std::vector<std::string>{"/bin/kill", "-HUP", "$MAINPID"}));
    EXPECT_EQ(s.exec_stop, (std::vector<std::string>{"/bin/false"}));
    EXPECT_EQ(s.timeout_stop, 5s);
    EXPECT_EQ(s.kill_signal, SIGWINCH);
    EXPECT_EQ(s.rules.success_exit_status.codes, (std::set<int>{42}));
}

TEST(ServiceSpecOf, environment_files_are_read_after_environment) {
    TempDir dir;
    const auto env = dir.write("env", "# comment\nB=2\nA='x y'\n");
    const ServiceSettings unit = settings_of("[Service]\nExecStart=/bin/true\nEnvironment=A=1\n"
                                             "EnvironmentFile=-/nonexistent/env\nEnvironmentFile=" +
                                             env.string() + "\n");
    ServiceSpec s = service_spec_of(unit);
    EXPECT_EQ(s.environment, (std::vector<std::string>{"A=1"})) << "files are read only when asked";
    add_environment_files(s, unit);
    EXPECT_EQ(s.environment, (std::vector<std::string>{"A=1", "B=2", "A=x y"}));
}

TEST(Overridden, records_the_key_the_value_used_and_the_units) {
    ServiceSpec s = service_spec_of(settings_of("[Service]\nExecStart=/bin/true\n"));
    overridden(s, "TimeoutStartSec", &ServiceSpec::timeout_start, 500ms, "so that it is quick");
    EXPECT_EQ(s.timeout_start, 500ms);
    ASSERT_EQ(s.overrides.size(), 1u);
    EXPECT_EQ(s.overrides[0], "TimeoutStartSec= is 500 ms (the unit's: 90 s), so that it is quick");
    overridden(s, "TimeoutStartSec", &ServiceSpec::timeout_start, 500ms);
    EXPECT_EQ(s.overrides.size(), 1u) << "the same value is no override";
}

TEST(AddRules, records_each_set_that_changed) {
    ServiceSpec s =
        service_spec_of(settings_of("[Service]\nExecStart=/bin/true\nSuccessExitStatus=42\n"));
    RestartRules cause;
    cause.success_exit_status.signals = {SIGUSR2};
    cause.restart_prevent_exit_status.codes = {1};
    add_rules(s, cause);
    EXPECT_EQ(s.rules.success_exit_status.codes, (std::set<int>{42}));
    EXPECT_EQ(s.rules.success_exit_status.signals, (std::set<int>{SIGUSR2}));
    EXPECT_EQ(s.overrides,
              (std::vector<std::string>{"SuccessExitStatus= is 42 SIGUSR2 (the unit's: 42)",
                                        "RestartPreventExitStatus= is 1 (the unit's: none)"}));
}

TEST(CarriedKeys, names_aliases_and_leaves_the_rest_out) {
    for (const char* key :
         {"TimeoutSec", "TimeoutStartSec", "StartLimitInterval", "StartLimitBurst", "Environment",
          "EnvironmentFile", "ExecStop", "PIDFile"})
        EXPECT_TRUE(carried("Service", key)) << key;
    EXPECT_TRUE(carried("Unit", "StartLimitIntervalSec"));
    for (const char* key : {"PrivateTmp", "OOMPolicy", "User", "Description"})
        EXPECT_FALSE(carried("Service", key)) << key;
}

} // namespace
} // namespace crashloop
