// The command-line drivers without a supervisor: exec:FILE's loader refuses a
// bad file naming its line, templates expand shell-quoted, and `systemctl show`
// output maps onto ServiceState.
#include <gtest/gtest.h>

#include <csignal>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "command_driver.hpp"
#include "errors.hpp"
#include "shell_words.hpp"
#include "temp_dir.hpp"

namespace crashloop {
namespace {

const std::filesystem::path scenarios = CRASHLOOP_SCENARIOS_DIR;

const std::string good = "name = \"mine\"\n"                // 1
                         "version = \"mine --version\"\n"   // 2
                         "start = \"mine start {name}\"\n"  // 3
                         "stop = \"mine stop {name}\"\n"    // 4
                         "state = \"mine show {names}\"\n"; // 5

// The InputError a file makes, as "line: message" ("" if it loads).
std::string refusal(const std::string& text) {
    TempDir dir;
    const auto file = dir.write("mine.toml", text);
    try {
        load_exec_commands(file, scenarios);
    } catch (const InputError& e) {
        EXPECT_EQ(e.file(), file.string());
        return std::to_string(e.line()) + ": " + e.what();
    }
    return "";
}

// Every exec file shipped in scenarios/supervisors/ loads, and says what its supervisor
// cannot express by cause, by Restart= value and by cell.
TEST(ExecFile, the_shipped_supervisors_load) {
    for (const char* file : {"runit.toml", "s6.toml", "daemontools.toml"}) {
        const CommandSet c = load_exec_commands(scenarios / "supervisors" / file, scenarios);
        EXPECT_TRUE(c.restart_window) << file << ": each shows no restart still to come";
        EXPECT_EQ(c.not_supported.count("watchdog"), 1u) << file;
        EXPECT_EQ(c.directory, std::filesystem::absolute(scenarios / "supervisors")) << file;
    }
    const CommandSet d =
        load_exec_commands(scenarios / "supervisors" / "daemontools.toml", scenarios);
    EXPECT_EQ(d.not_supported.count("on-failure"), 1u);
    EXPECT_EQ(d.not_supported.count("no/restart-force"), 1u);
}

TEST(ExecFile, the_shipped_example_loads) {
    const CommandSet c = load_exec_commands(scenarios / "supervisors" / "planted.toml", scenarios);
    EXPECT_EQ(c.name, "planted-systemctl");
    EXPECT_FALSE(c.install.empty());
    EXPECT_FALSE(c.kill.empty());
    EXPECT_EQ(c.not_supported.count("watchdog"), 1u);
}

TEST(ExecFile, a_minimal_file_loads_without_the_optional_commands) {
    EXPECT_EQ(refusal(good), "");
    TempDir dir;
    const CommandSet c = load_exec_commands(dir.write("mine.toml", good), scenarios);
    EXPECT_EQ(c.start, "mine start {name}");
    EXPECT_TRUE(c.reload.empty());
    EXPECT_TRUE(c.kill.empty());
    EXPECT_TRUE(c.install.empty());
}

TEST(ExecFile, a_missing_command_is_named) {
    const std::string text =
        "name = \"mine\"\nversion = \"v\"\nstart = \"s {name}\"\nstate = \"x {names}\"\n";
    EXPECT_NE(refusal(text).find("expected a key 'stop'"), std::string::npos) << refusal(text);
}

TEST(ExecFile, a_typo_in_a_key_is_refused_on_its_line) {
    const std::string r = refusal(good + "relaod = \"mine reload {name}\"\n");
    EXPECT_EQ(r.rfind("6: ", 0), 0u) << r;
    EXPECT_NE(r.find("got 'relaod'"), std::string::npos) << r;
}

TEST(ExecFile, a_command_must_be_a_non_empty_string) {
    std::string r = refusal(good + "kill = 9\n");
    EXPECT_EQ(r.rfind("6: ", 0), 0u) << r;
    EXPECT_NE(r.find("expected a non-empty string in kill, got 9"), std::string::npos) << r;
    r = refusal(good + "reload = \"\"\n");
    EXPECT_NE(r.find("expected a non-empty string in reload"), std::string::npos) << r;
}

TEST(ExecFile, an_unknown_placeholder_is_refused_on_its_line) {
    const std::string r = refusal(good + "reload = \"mine reload {nmae}\"\n");
    EXPECT_EQ(r.rfind("6: ", 0), 0u) << r;
    EXPECT_NE(r.find("got {nmae}"), std::string::npos) << r;
}

TEST(ExecFile, a_placeholder_of_another_command_is_refused) {
    std::string r = refusal(good + "reload = \"mine reload {signal} {name}\"\n");
    EXPECT_NE(r.find("got {signal}"), std::string::npos) << r;
    r = refusal("name = \"mine\"\nversion = \"v\"\nstart = \"s {names}\"\nstop = \"s {name}\"\n"
                "state = \"x {names}\"\n");
    EXPECT_EQ(r.rfind("3: ", 0), 0u) << r;
    EXPECT_NE(r.find("got {names}"), std::string::npos) << r;
}

TEST(ExecFile, shell_variables_are_not_placeholders) {
    EXPECT_EQ(refusal(good + "kill = \"${MINE:-mine} kill -s {signal} {name}\"\n"), "");
}

TEST(ExecFile, not_supported_needs_known_cause_ids_and_reasons) {
    std::string r = refusal(good + "[not_supported]\nwatchdgo = \"no watchdog\"\n");
    EXPECT_EQ(r.rfind("7: ", 0), 0u) << r;
    EXPECT_NE(r.find("expected a cause id of causes.toml, a Restart= value or \"restart/cause\" "
                     "in [not_supported], got 'watchdgo'"),
              std::string::npos)
        << r;
    // A Restart= value, or one cell: both halves known.
    EXPECT_EQ(refusal(good + "[not_supported]\non-failure = \"always or never\"\n"
                             "\"no/restart-force\" = \"never\"\n"),
              "");
    r = refusal(good + "[not_supported]\n\"no/restart-forse\" = \"never\"\n");
    EXPECT_NE(r.find("got 'no/restart-forse'"), std::string::npos) << r;
    r = refusal(good + "[not_supported]\n\"sometimes/restart-force\" = \"never\"\n");
    EXPECT_NE(r.find("got 'sometimes/restart-force'"), std::string::npos) << r;
    r = refusal(good + "[not_supported]\nwatchdog = true\n");
    EXPECT_EQ(r.rfind("7: ", 0), 0u) << r;
    EXPECT_NE(r.find("expected a reason"), std::string::npos) << r;
    r = refusal(good + "not_supported = \"watchdog\"\n");
    EXPECT_NE(r.find("expected a table [not_supported]"), std::string::npos) << r;
}

TEST(ExecFile, bad_toml_and_a_missing_file_are_input_errors) {
    std::string r = refusal(good + "stop = \"twice\"\n");
    EXPECT_NE(r.find("expected valid TOML"), std::string::npos) << r;
    EXPECT_THROW(load_exec_commands("/nonexistent/mine.toml", scenarios), InputError);
}

TEST(CommandTemplates, placeholders_expand_shell_quoted) {
    const Placeholders values{{{"name", "it's a.service"}, {"unit_dir", "/tmp/u"}}, {}};
    EXPECT_EQ(expand("x start {name} --dir={unit_dir}", values),
              "x start 'it'\\''s a.service' --dir='/tmp/u'");
    EXPECT_EQ(expand("x show {names}", {{}, {{"names", {"a.service", "b c.service"}}}}),
              "x show 'a.service' 'b c.service'");
    EXPECT_EQ(expand("echo ${HOME} {x", values), "echo ${HOME} {x");
    EXPECT_EQ(shell_quote(""), "''");
}

// A supervisor that reads no unit file is handed the service's settings: its
// command lines as words it can write into a script of its own, and the
// Restart= rules it maps.
TEST(CommandTemplates, a_service_s_settings_are_placeholders) {
    ServiceSpec s;
    s.restart = RestartValue::on_failure;
    s.restart_sec = std::chrono::milliseconds(1500);
    s.exec_start = {"/usr/bin/my daemon", "--plan", "ready,die:SIGABRT|serve"};
    s.environment = {"A=b c"};
    s.rules.success_exit_status = {{3}, {SIGUSR2}};
    const Placeholders p = service_placeholders(s);
    EXPECT_EQ(expand("restart={restart} sec={restart_sec} exec {exec_start}", p),
              "restart='on-failure' sec='1.5' exec '/usr/bin/my daemon' '--plan' "
              "'ready,die:SIGABRT|serve'");
    EXPECT_EQ(expand("env {environment} ok {success_exit_status}|{restart_force_exit_status}|", p),
              "env 'A=b c' ok '3' 'SIGUSR2'||");
    s.restart_sec = {};
    EXPECT_EQ(expand("{restart_sec}", service_placeholders(s)), "'0'");
    s.restart_sec = std::chrono::microseconds(100000);
    EXPECT_EQ(expand("{restart_sec}", service_placeholders(s)), "'0.1'");
    EXPECT_TRUE(unknown_placeholders("cat > {run_dir}/x <<'EOF'\nexec {exec_start}\nEOF",
                                     Operation::start)
                    .empty());
    EXPECT_EQ(unknown_placeholders("x {exec_start}", Operation::state),
              std::vector<std::string>{"exec_start"});
}

TEST(CommandTemplates, the_systemctl_driver_is_its_templates) {
    const CommandSet c = systemctl_commands("/opt/my tools/mysystemctl");
    EXPECT_EQ(c.name, "mysystemctl");
    EXPECT_EQ(expand(c.kill, {{{"name", "a.service"}, {"signal", "SIGABRT"}}, {}}),
              "'/opt/my tools/mysystemctl' kill -s 'SIGABRT' --kill-whom=main 'a.service'");
    for (auto [templ, operation] : {std::pair{c.version, Operation::version},
                                    {c.install, Operation::install},
                                    {c.start, Operation::start},
                                    {c.stop, Operation::stop},
                                    {c.reload, Operation::reload},
                                    {c.kill, Operation::kill},
                                    {c.state, Operation::state}})
        EXPECT_TRUE(unknown_placeholders(templ, operation).empty()) << templ;
}

// What a shell command prints; a command that fails is a test failure.
std::string output_of(const std::string& command) {
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("popen failed");
    std::string output;
    char buffer[4096];
    for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << command << "\n" << output;
    return output;
}

// s6.toml's `state` reads s6-supervise's own 35-byte records (s6/supervise.h): two
// timestamps, the pid, the wait status, the flags. Until s6-supervise has started ./run its
// record is "wanted up, pid 0" as between a death and the next start; only the equal
// timestamps tell them apart, and a wait status of 0 there is no exit code 0.
std::string s6_record(int stamp, int ready_stamp, uint64_t pid, uint16_t wait_status, int flags) {
    std::string r(35, '\0');
    r[7] = static_cast<char>(stamp);
    r[19] = static_cast<char>(ready_stamp);
    for (int i = 0; i < 8; ++i) r[24 + i] = static_cast<char>(pid >> (8 * (7 - i)));
    r[32] = static_cast<char>(wait_status >> 8);
    r[33] = static_cast<char>(wait_status & 0xff);
    r[34] = static_cast<char>(flags);
    return r;
}

TEST(S6State, each_record_reads_as_what_s6_supervise_is_doing) {
    const CommandSet s6 = load_exec_commands(scenarios / "supervisors" / "s6.toml", scenarios);
    TempDir dir;
    enum { finishing = 2, wanted_up = 4 };
    const std::vector<std::pair<std::string, std::string>> records = {
        {"fresh", s6_record(5, 5, 0, 0, wanted_up)},               // not started yet
        {"up", s6_record(6, 5, 4242, 0, wanted_up)},               // ./run is pid 4242
        {"finishing", s6_record(7, 6, 4300, SIGHUP, finishing | wanted_up)}, // pid of ./finish
        {"waiting", s6_record(7, 8, 0, 3 << 8, wanted_up)},        // exit 3, next start to come
        {"stayed", s6_record(7, 8, 0, 0x80 | SIGABRT, 0)},         // dumped, ./finish said 125
        {"clean", s6_record(7, 8, 0, 0, wanted_up)},               // exit 0, next start to come
    };
    std::vector<std::string> names;
    for (const auto& [name, record] : records) {
        dir.write("sv/" + name + "/supervise/status", record);
        names.push_back(name);
    }
    names.push_back("absent");
    Placeholders p;
    p.values["run_dir"] = dir.path().string();
    p.words["names"] = names;
    const std::string command = expand(s6.state, p);
    const std::string output = output_of(command);

    const auto states = parse_show(output, names, s6.states);
    auto line = [](const ServiceState& s) {
        return s.state() + " pid " + std::to_string(s.main_pid) + " code " +
               std::to_string(s.exec_main_code) + " status " + std::to_string(s.exec_main_status);
    };
    EXPECT_EQ(line(states[0]), "activating/start pid 0 code 0 status 0");
    EXPECT_EQ(line(states[1]), "active/running pid 4242 code 0 status 0");
    EXPECT_EQ(line(states[2]), "deactivating/stop-post pid 0 code 2 status 1");
    EXPECT_EQ(line(states[3]), "activating/auto-restart pid 0 code 1 status 3");
    EXPECT_EQ(line(states[4]), "inactive/dead pid 0 code 3 status 6");
    EXPECT_EQ(line(states[5]), "activating/auto-restart pid 0 code 1 status 0");
    EXPECT_EQ(line(states[6]), "inactive/dead pid 0 code 0 status 0");
}

// runit.toml's `state` reads `sv status` lines; runsv says "down, want up" both before it
// first starts ./run and between a death and the restart: only the exit file ./run writes
// tells them apart. `sv` here is a stand-in printing the lines runsv's sv would.
TEST(RunitState, want_up_before_the_first_start_is_a_start_not_a_death) {
    const CommandSet runit = load_exec_commands(scenarios / "supervisors" / "runit.toml", scenarios);
    TempDir dir;
    const auto sv = dir.write("bin/sv", "#!/bin/sh\nshift\n"
                                        "for d; do case $d in\n"
                                        "fresh) echo \"down: $d: 0s, normally up, want up\" ;;\n"
                                        "waiting) echo \"down: $d: 0s, normally up, want up\" ;;\n"
                                        "up) echo \"run: $d: (pid 4242) 3s\" ;;\n"
                                        "stayed) echo \"down: $d: 2s, normally up\" ;;\n"
                                        "esac; done\n");
    std::filesystem::permissions(sv, std::filesystem::perms::owner_all);
    dir.write("sv/waiting/exit", "2 6\n");
    dir.write("sv/up/exit", "0 0\n");
    dir.write("sv/stayed/exit", "1 3\n");
    const std::vector<std::string> names = {"fresh", "waiting", "up", "stayed"};
    Placeholders p;
    p.values["run_dir"] = dir.path().string();
    p.words["names"] = names;
    const std::string command = "PATH=" + (dir.path() / "bin").string() + ":$PATH; " + expand(runit.state, p);
    const std::string output = output_of(command);

    const auto states = parse_show(output, names, runit.states);
    EXPECT_EQ(states[0].state(), "activating/start");
    EXPECT_FALSE(states[0].reports_exit) << "nothing has ended";
    EXPECT_EQ(states[1].state(), "activating/auto-restart");
    EXPECT_EQ(states[1].exec_main_code, 2);
    EXPECT_EQ(states[1].exec_main_status, 6);
    EXPECT_EQ(states[2].state(), "active/running");
    EXPECT_EQ(states[2].main_pid, 4242u);
    EXPECT_EQ(states[3].state(), "inactive/dead");
    EXPECT_EQ(states[3].exec_main_status, 3);
}

TEST(ShowOutput, blocks_map_to_the_names_in_order) {
    const std::string output = "ActiveState=activating\nSubState=auto-restart\nResult=signal\n"
                               "MainPID=0\nNRestarts=0\nExecMainCode=2\nExecMainStatus=6\nJob=\n"
                               "\n"
                               "ActiveState=active\nSubState=running\nResult=success\n"
                               "MainPID=1234\nNRestarts=1\nExecMainCode=0\nExecMainStatus=0\n"
                               "Job=17 /org/freedesktop/systemd1/job/17\n";
    const auto states = parse_show(output, {"a.service", "b.service"});
    ASSERT_EQ(states.size(), 2u);
    EXPECT_EQ(states[0].state(), "activating/auto-restart");
    EXPECT_EQ(states[0].exec_main_code, 2);
    EXPECT_EQ(states[0].exec_main_status, 6);
    EXPECT_EQ(states[0].job_id, 0u);
    EXPECT_EQ(states[1].main_pid, 1234u);
    EXPECT_EQ(states[1].n_restarts, 1u);
    EXPECT_EQ(states[1].job_id, 17u);
}

TEST(ShowOutput, a_job_that_is_not_a_number_is_still_a_job) {
    EXPECT_EQ(parse_show("Job=start\n", {"a"})[0].job_id, 1u);
    EXPECT_EQ(parse_show("Job=0\n", {"a"})[0].job_id, 0u);
}

TEST(ShowOutput, output_that_does_not_match_the_names_is_an_error) {
    EXPECT_THROW(parse_show("ActiveState=active\n", {"a", "b"}), SupervisorError);
    EXPECT_THROW(parse_show("ActiveState=active\n\nActiveState=active\n", {"a"}), SupervisorError);
    EXPECT_THROW(parse_show("Id=b\nActiveState=active\n", {"a"}), SupervisorError);
    EXPECT_THROW(parse_show("MainPID=many\n", {"a"}), SupervisorError);
    EXPECT_THROW(parse_show("just words\n", {"a"}), SupervisorError);
}

TEST(ShowOutput, a_state_outside_systemds_words_is_translated_by_the_table_or_refused) {
    const std::map<std::string, std::string> table = {{"error", "failed/failed"},
                                                      {"backoff", "activating/auto-restart"}};
    const auto states =
        parse_show("ActiveState=error\nSubState=fatal\n\nActiveState=backoff\n", {"a", "b"}, table);
    EXPECT_EQ(states[0].state(), "failed/failed");
    EXPECT_EQ(states[0].own_words, "error/fatal");
    EXPECT_EQ(states[1].state(), "activating/auto-restart");
    EXPECT_EQ(states[1].own_words, "backoff");
    EXPECT_EQ(parse_show("ActiveState=failed\nSubState=failed\n", {"a"}, table)[0].own_words, "");
    EXPECT_THROW(parse_show("ActiveState=error\n", {"a"}), SupervisorError);
}

TEST(ShowOutput, what_is_missing_or_empty_is_not_reported_not_zero) {
    const auto blank = parse_show("ActiveState=active\nMainPID=\nNRestarts=\nExecMainCode=\n", {"a"});
    EXPECT_EQ(blank[0].main_pid, 0u);
    EXPECT_FALSE(blank[0].reports_restarts);
    EXPECT_FALSE(blank[0].reports_exit);
    const auto missing = parse_show("ActiveState=active\n", {"a"});
    EXPECT_FALSE(missing[0].reports_restarts);
    EXPECT_FALSE(missing[0].reports_exit);
    const auto told = parse_show("NRestarts=0\nExecMainCode=0\n", {"a"});
    EXPECT_TRUE(told[0].reports_restarts);
    EXPECT_TRUE(told[0].reports_exit);
}

TEST(ExecFile, unbalanced_or_doubled_braces_are_refused_on_their_line) {
    const std::string base = "name = \"mine\"\nversion = \"v\"\nstop = \"s {name}\"\n"
                             "state = \"x {names}\"\n";
    EXPECT_NE(refusal(base + "start = \"mine start {name\"\n").find("5: expected {placeholder} in start, got {name has no closing brace"),
              std::string::npos)
        << refusal(base + "start = \"mine start {name\"\n");
    EXPECT_NE(refusal(base + "start = \"mine start {{name}}\"\n").find("second pair of braces"),
              std::string::npos);
    EXPECT_EQ(refusal(base + "start = \"{ mine start {name}; } && echo ${HOME}\"\n"), "");
}

TEST(ExecFile, the_windows_the_poll_and_the_state_table_are_checked) {
    const CommandSet c = [] {
        TempDir dir;
        return load_exec_commands(dir.write("mine.toml", good + "restart_window_ms = 1500\n"
                                                              "poll_interval_ms = 200\n"
                                                              "[states]\n"
                                                              "error = \"failed/failed\"\n"),
                                  scenarios);
    }();
    EXPECT_EQ(c.restart_window, std::chrono::milliseconds(1500));
    EXPECT_EQ(c.poll_interval, std::chrono::milliseconds(200));
    EXPECT_EQ(c.states.at("error"), "failed/failed");
    EXPECT_NE(refusal(good + "restart_window_ms = -1\n").find("6: expected restart_window_ms"),
              std::string::npos)
        << refusal(good + "restart_window_ms = -1\n");
    EXPECT_NE(refusal(good + "poll_interval_ms = 0\n").find("poll_interval_ms"), std::string::npos);
    EXPECT_NE(refusal(good + "[states]\nerror = \"broken\"\n").find("7: expected systemd's"),
              std::string::npos)
        << refusal(good + "[states]\nerror = \"broken\"\n");
    EXPECT_NE(refusal(good + "[states]\nerror = \"error/x\"\n").find("expected systemd's"),
              std::string::npos);
}

} // namespace
} // namespace crashloop
