// A ServiceSpec written as a unit file (unit_file_writer.hpp) reads back, through
// crashloop's own reader (unit_file.hpp, service_settings.hpp), as the same
// service: every key the reader covers, and arguments that need systemd's
// quoting (spaces, quotes, backslashes, '%', a lone ';', control characters).
#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

#include "service_settings.hpp"
#include "supervisor.hpp"
#include "temp_dir.hpp"
#include "unit_file.hpp"
#include "unit_file_writer.hpp"

namespace crashloop {
namespace {

using namespace std::chrono_literals;

ServiceSpec httpd_spec() {
    ServiceSpec s;
    s.name = "crashloop-on-failure-sigabrt.service";
    s.description = "crashloop on-failure/sigabrt: unclean signal: SIGABRT (100% sure)";
    s.type = "notify";
    s.restart = RestartValue::on_failure;
    s.restart_sec = 250ms;
    s.timeout_start = 30s;
    s.timeout_stop = 1500us;
    s.watchdog = 2s;
    s.exec_start = {"/opt/fake-httpd",
                    "--plan",
                    "ready,die:SIGABRT|ready,serve",
                    "--events",
                    "/tmp/ev/on-failure-sigabrt.log",
                    "--name",
                    "on-failure/sigabrt"};
    s.exec_reload = {"/opt/fake-httpd", "-k", "graceful"};
    s.exec_stop = {"/opt/fake-httpd", "-k", "graceful-stop"};
    s.pid_file = "/tmp/ev/on-failure-sigabrt.pid";
    s.kill_signal = SIGWINCH;
    s.kill_mode = "mixed";
    s.start_limit_interval = 10s;
    s.start_limit_burst = 5;
    s.rules.success_exit_status = {{42}, {SIGUSR2}};
    s.rules.restart_prevent_exit_status = {{1, 5}, {}};
    s.rules.restart_force_exit_status = {{3, 5}, {SIGTERM}};
    s.environment = {"LANG=C", "GREETING=hello world", "RATIO=50%"};
    return s;
}

ServiceSettings read_back(const TempDir& dir, const ServiceSpec& spec) {
    const auto file = write_unit_file(spec, dir.path());
    EXPECT_EQ(file, dir.path() / spec.name);
    return service_settings(UnitFile::load(file, {}));
}

TEST(UnitFileWriter, every_key_reads_back_as_written) {
    TempDir dir;
    const ServiceSpec spec = httpd_spec();
    const ServiceSettings read = read_back(dir, spec);
    EXPECT_EQ(read.type, "notify");
    EXPECT_EQ(read.restart, RestartValue::on_failure);
    EXPECT_EQ(read.restart_sec, 250ms);
    EXPECT_EQ(read.timeout_start, std::chrono::microseconds(30s));
    EXPECT_EQ(read.timeout_stop, std::chrono::microseconds(1500us));
    EXPECT_EQ(read.watchdog, std::chrono::microseconds(2s));
    EXPECT_EQ(read.exec_start, spec.exec_start);
    EXPECT_TRUE(read.has_exec_reload);
    EXPECT_TRUE(read.has_exec_stop);
    EXPECT_EQ(read.pid_file, spec.pid_file);
    EXPECT_EQ(read.kill_signal, SIGWINCH);
    EXPECT_EQ(read.kill_mode, "mixed");
    EXPECT_EQ(read.start_limit_interval, std::chrono::microseconds(10s));
    EXPECT_EQ(read.start_limit_burst, 5u);
    EXPECT_EQ(read.rules.success_exit_status.codes, spec.rules.success_exit_status.codes);
    EXPECT_EQ(read.rules.success_exit_status.signals, spec.rules.success_exit_status.signals);
    EXPECT_EQ(read.rules.restart_prevent_exit_status.codes,
              spec.rules.restart_prevent_exit_status.codes);
    EXPECT_EQ(read.rules.restart_force_exit_status.codes,
              spec.rules.restart_force_exit_status.codes);
    EXPECT_EQ(read.rules.restart_force_exit_status.signals,
              spec.rules.restart_force_exit_status.signals);

    // The keys service_settings() does not type: read as plain assignments.
    const UnitFile unit = UnitFile::load(dir.path() / spec.name, {});
    EXPECT_EQ(unit.last("Unit", "Description")->value, spec.description);
    const auto environment = unit.list("Service", "Environment");
    ASSERT_EQ(environment.size(), 3u);
    EXPECT_EQ(environment[0].value, "LANG=C");
    EXPECT_EQ(environment[1].value, "\"GREETING=hello world\"");
    EXPECT_EQ(environment[2].value, "RATIO=50%");
    EXPECT_TRUE(unit.warnings().empty()) << unit.warnings().front();
}

TEST(UnitFileWriter, arguments_that_need_quoting_read_back_whole) {
    TempDir dir;
    ServiceSpec spec = httpd_spec();
    spec.exec_start = {"/opt/my daemon/bin/httpd",
                       "two words",
                       "",
                       "say \"hi\"",
                       "it's",
                       "back\\slash",
                       "100%",
                       ";",
                       "a;b",
                       "tab\there",
                       "line\nbreak",
                       "ends in a backslash\\"};
    EXPECT_EQ(read_back(dir, spec).exec_start, spec.exec_start);
}

TEST(UnitFileWriter, defaults_are_left_to_the_supervisor) {
    ServiceSpec spec;
    spec.name = "plain.service";
    spec.exec_start = {"/bin/true"};
    const std::string text = unit_file_text(spec);
    for (const char* key :
         {"WatchdogSec=", "ExecReload=", "ExecStop=", "PIDFile=", "KillSignal=", "KillMode=",
          "SuccessExitStatus=", "RestartPreventExitStatus=", "RestartForceExitStatus=",
          "StartLimitIntervalSec=", "StartLimitBurst=", "Environment="})
        EXPECT_EQ(text.find(key), std::string::npos) << key << " in:\n" << text;
    EXPECT_NE(text.find("Restart=no\n"), std::string::npos) << text;
    EXPECT_NE(text.find("RestartSec=100ms\n"), std::string::npos) << text;
}

TEST(UnitFileWriter, words_are_quoted_as_systemd_syntax_says) {
    EXPECT_EQ(exec_word("/usr/sbin/httpd"), "/usr/sbin/httpd");
    EXPECT_EQ(exec_word("two words"), "\"two words\"");
    EXPECT_EQ(exec_word(""), "\"\"");
    EXPECT_EQ(exec_word("100%"), "100%%");
    EXPECT_EQ(exec_word("$HOME"), "$$HOME");
    EXPECT_EQ(exec_word(";"), "\\;");
    EXPECT_EQ(exec_word("say \"hi\""), "\"say \\\"hi\\\"\"");
    EXPECT_EQ(exec_line({"/bin/echo", "a b", "c"}), "/bin/echo \"a b\" c");
    EXPECT_EQ(timespan_text(100ms), "100ms");
    EXPECT_EQ(timespan_text(30s), "30s");
    EXPECT_EQ(timespan_text(1500us), "1500us");
    EXPECT_EQ(timespan_text(infinite_time), "infinity");
}

} // namespace
} // namespace crashloop
