// The supervisord [program:x] section for a ServiceSpec: which exits
// supervisord will restart (autorestart= and exitcodes=), read the way
// supervisord reads them (process.py transition(): restart when autorestart is
// true, or when it is "unexpected" and the exit status is not in exitcodes;
// a signal death is status -1, never in exitcodes).
#include <gtest/gtest.h>

#include <csignal>

#include "shell_words.hpp"
#include "supervisord_program.hpp"

using namespace crashloop;

namespace {

ServiceSpec spec_for(RestartValue value, RestartRules rules = {}) {
    ServiceSpec s;
    s.name = "crashloop-on-failure-sigabrt.service";
    s.restart = value;
    s.rules = std::move(rules);
    s.exec_start = {"/build/fake-httpd", "--plan", "ready,die:SIGABRT|ready,serve", "--name",
                    "on-failure/sigabrt"};
    return s;
}

SupervisordProgram program_for(RestartValue value, RestartRules rules = {}) {
    return supervisord_program(spec_for(value, std::move(rules)), "/tmp/jail/output/x.log");
}

// Does supervisord restart after this exit code?
bool restarts_code(const SupervisordProgram& p, int code) {
    return supervisord_restarts(p.autorestart, p.exitcodes.contains(code));
}
// … and after any signal death (status -1, never expected)?
bool restarts_signal(const SupervisordProgram& p) {
    return supervisord_restarts(p.autorestart, false);
}

std::string line_of(const std::string& section, const std::string& key) {
    auto at = section.find("\n" + key + "=");
    if (at == std::string::npos) return "";
    auto end = section.find('\n', at + 1);
    return section.substr(at + 1, end - at - 1);
}

TEST(SupervisordProgram, name_drops_the_service_suffix_and_odd_characters) {
    EXPECT_EQ(supervisord_program_name("crashloop-on-failure-sigabrt.service"),
              "crashloop-on-failure-sigabrt");
    EXPECT_EQ(supervisord_program_name("web:api/1.service"), "web_api_1");
    EXPECT_EQ(supervisord_program_name("plain"), "plain");
}

TEST(SupervisordProgram, command_is_shell_quoted_for_shlex) {
    EXPECT_EQ(shell_quote("/usr/bin/x"), "/usr/bin/x");
    EXPECT_EQ(shell_quote("ready,die:SIGABRT|ready,serve"), "'ready,die:SIGABRT|ready,serve'");
    EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
    EXPECT_EQ(shell_quote(""), "''");
    const auto p = program_for(RestartValue::on_failure);
    EXPECT_EQ(line_of(p.section, "command"),
              "command=/build/fake-httpd --plan 'ready,die:SIGABRT|ready,serve' --name "
              "on-failure/sigabrt");
    EXPECT_NE(p.section.find("[program:crashloop-on-failure-sigabrt]\n"), std::string::npos);
}

TEST(SupervisordProgram, every_exit_is_judged_by_autorestart_not_as_a_failed_start) {
    const auto p = program_for(RestartValue::on_failure);
    EXPECT_EQ(line_of(p.section, "startsecs"), "startsecs=0");
    EXPECT_EQ(line_of(p.section, "autostart"), "autostart=true");
    EXPECT_EQ(line_of(p.section, "stopsignal"), "stopsignal=TERM");
    EXPECT_EQ(line_of(p.section, "stopwaitsecs"), "stopwaitsecs=10");
    EXPECT_EQ(line_of(p.section, "stdout_logfile"), "stdout_logfile=/tmp/jail/output/x.log");
}

TEST(SupervisordProgram, no_never_restarts) {
    const auto p = program_for(RestartValue::no);
    EXPECT_EQ(p.autorestart, AutoRestart::never);
    EXPECT_EQ(line_of(p.section, "autorestart"), "autorestart=false");
    EXPECT_FALSE(restarts_code(p, 1));
    EXPECT_FALSE(restarts_signal(p));
    EXPECT_EQ(p.exitcodes, std::set<int>{0}); // only says "expected" (inactive) or not (failed)
}

TEST(SupervisordProgram, always_restarts_everything) {
    const auto p = program_for(RestartValue::always);
    EXPECT_EQ(p.autorestart, AutoRestart::always);
    EXPECT_TRUE(restarts_code(p, 0));
    EXPECT_TRUE(restarts_signal(p));
}

TEST(SupervisordProgram, always_with_restart_prevent_expects_those_codes) {
    RestartRules rules;
    rules.restart_prevent_exit_status.codes = {1};
    const auto p = program_for(RestartValue::always, rules);
    EXPECT_EQ(p.autorestart, AutoRestart::unexpected);
    EXPECT_EQ(p.exitcodes, std::set<int>{1});
    EXPECT_FALSE(restarts_code(p, 1));
    EXPECT_TRUE(restarts_code(p, 0));
    EXPECT_TRUE(restarts_signal(p));
}

TEST(SupervisordProgram, on_failure_expects_the_success_codes) {
    RestartRules rules;
    rules.success_exit_status.codes = {42};
    const auto p = program_for(RestartValue::on_failure, rules);
    EXPECT_EQ(p.autorestart, AutoRestart::unexpected);
    EXPECT_EQ(line_of(p.section, "exitcodes"), "exitcodes=0,42");
    EXPECT_FALSE(restarts_code(p, 0));
    EXPECT_FALSE(restarts_code(p, 42));
    EXPECT_TRUE(restarts_code(p, 1));
    EXPECT_TRUE(restarts_signal(p)); // clean signals too: a known deviation
}

TEST(SupervisordProgram, on_success_expects_every_unclean_code) {
    RestartRules rules;
    rules.success_exit_status.codes = {42};
    const auto p = program_for(RestartValue::on_success, rules);
    EXPECT_EQ(p.autorestart, AutoRestart::unexpected);
    EXPECT_EQ(p.exitcodes.size(), 254u);
    EXPECT_TRUE(restarts_code(p, 0));
    EXPECT_TRUE(restarts_code(p, 42));
    EXPECT_FALSE(restarts_code(p, 1));
    EXPECT_FALSE(restarts_code(p, 255));
}

TEST(SupervisordProgram, on_abnormal_and_on_abort_restart_only_signal_deaths) {
    for (RestartValue value : {RestartValue::on_abnormal, RestartValue::on_abort}) {
        const auto p = program_for(value);
        EXPECT_EQ(p.autorestart, AutoRestart::unexpected);
        EXPECT_EQ(p.exitcodes.size(), 256u);
        EXPECT_FALSE(restarts_code(p, 0));
        EXPECT_FALSE(restarts_code(p, 1));
        EXPECT_TRUE(restarts_signal(p));
    }
}

TEST(SupervisordProgram, on_watchdog_never_restarts_without_a_watchdog) {
    const auto p = program_for(RestartValue::on_watchdog);
    EXPECT_EQ(p.autorestart, AutoRestart::never);
}

TEST(SupervisordProgram, restart_force_codes_restart_even_under_no) {
    RestartRules rules;
    rules.restart_force_exit_status.codes = {3};
    const auto p = program_for(RestartValue::no, rules);
    EXPECT_EQ(p.autorestart, AutoRestart::unexpected);
    EXPECT_TRUE(restarts_code(p, 3));
    EXPECT_FALSE(restarts_code(p, 0));
    EXPECT_FALSE(restarts_code(p, 1));
    const auto on_failure = program_for(RestartValue::on_failure, rules);
    EXPECT_TRUE(restarts_code(on_failure, 3));
}

TEST(SupervisordProgram, restart_force_signals_restart_every_signal_under_no) {
    RestartRules rules;
    rules.restart_force_exit_status.signals = {SIGTERM};
    const auto p = program_for(RestartValue::no, rules);
    EXPECT_EQ(p.autorestart, AutoRestart::unexpected);
    EXPECT_TRUE(restarts_signal(p));
    EXPECT_FALSE(restarts_code(p, 0));
}

TEST(SupervisordProgram, restart_prevent_wins_over_restart_force) {
    RestartRules rules;
    rules.restart_prevent_exit_status.codes = {5};
    rules.restart_force_exit_status.codes = {5};
    for (RestartValue value : {RestartValue::no, RestartValue::always, RestartValue::on_failure,
                               RestartValue::on_success, RestartValue::on_abnormal}) {
        const auto p = program_for(value, rules);
        EXPECT_FALSE(restarts_code(p, 5)) << to_string(value);
    }
    RestartRules prevent;
    prevent.restart_prevent_exit_status.codes = {1};
    EXPECT_FALSE(restarts_code(program_for(RestartValue::on_failure, prevent), 1));
}

TEST(SupervisordProgram, kill_settings_map) {
    auto s = spec_for(RestartValue::no);
    s.kill_signal = SIGWINCH;
    s.kill_mode = "process";
    s.timeout_stop = std::chrono::milliseconds(1500);
    const auto p = supervisord_program(s, "/tmp/x.log");
    EXPECT_EQ(line_of(p.section, "stopsignal"), "stopsignal=WINCH");
    EXPECT_EQ(line_of(p.section, "stopwaitsecs"), "stopwaitsecs=2");
    EXPECT_EQ(line_of(p.section, "stopasgroup"), "stopasgroup=false");
    EXPECT_EQ(line_of(p.section, "killasgroup"), "killasgroup=false");
}

TEST(SupervisordProgram, environment_and_percent_signs_are_escaped) {
    auto s = spec_for(RestartValue::no);
    s.environment = {"A=1", "B=x,y", "C=say \"hi\""};
    s.exec_start.push_back("100%");
    const auto p = supervisord_program(s, "/tmp/x.log");
    EXPECT_EQ(line_of(p.section, "environment"), "environment=A=\"1\",B=\"x,y\",C='say \"hi\"'");
    EXPECT_NE(line_of(p.section, "command").find("'100%%'"), std::string::npos);
}

TEST(SupervisordProgram, values_supervisord_cannot_read_are_refused) {
    auto s = spec_for(RestartValue::no);
    s.exec_start.push_back("a ;comment");
    EXPECT_THROW(supervisord_program(s, "/tmp/x.log"), ProgramError);
    s = spec_for(RestartValue::no);
    s.exec_start.push_back("two\nlines");
    EXPECT_THROW(supervisord_program(s, "/tmp/x.log"), ProgramError);
    s = spec_for(RestartValue::no);
    s.environment = {"BAD=both ' and \""};
    EXPECT_THROW(supervisord_program(s, "/tmp/x.log"), ProgramError);
    s.exec_start.clear();
    EXPECT_THROW(supervisord_program(s, "/tmp/x.log"), ProgramError);
}

} // namespace

// When supervisord gives up, the report quotes it (getProcessInfo's statename
// and spawnerr/description), not only the nearest systemd words failed/failed.
TEST(SupervisordWords, fatal_carries_supervisords_own_reason) {
    EXPECT_EQ(supervisord_words("FATAL", "Exited too quickly (process log may have details)",
                                "Exited too quickly (process log may have details)"),
              "FATAL: Exited too quickly (process log may have details)");
    EXPECT_EQ(supervisord_words("BACKOFF", "can't find command '/nowhere'", ""),
              "BACKOFF: can't find command '/nowhere'");
}

TEST(SupervisordWords, fatal_from_the_log_alone_says_what_the_log_said) {
    EXPECT_EQ(supervisord_words("FATAL", "", "too many start retries too quickly"),
              "FATAL: too many start retries too quickly");
    EXPECT_EQ(supervisord_words("FATAL", "", ""), "FATAL");
}

TEST(SupervisordWords, other_states_are_their_name_without_uptime_or_date) {
    EXPECT_EQ(supervisord_words("RUNNING", "", "pid 12, uptime 0:00:01"), "RUNNING");
    EXPECT_EQ(supervisord_words("EXITED", "", "Dec 01 11:04 PM"), "EXITED");
}
