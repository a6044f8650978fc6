// supervisord's own log, read line by line the way its driver replays it
// (supervisord_log.cpp): each state-change message of supervisord 4.2 with its
// program, pid and how the process ended; a line that is no record is skipped.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <csignal>
#include <string>

#include "supervisord_log.hpp"

using namespace crashloop;
using Kind = SupervisordLogLine::Kind;

namespace {

std::string record(const std::string& message, const std::string& level = "INFO") {
    return "2024-05-01 12:00:00,123 " + level + " " + message;
}

SupervisordLogLine parsed(const std::string& line) {
    auto result = parse_supervisord_log_line(line);
    if (!result) throw std::runtime_error("not a record: " + line);
    return *result;
}

TEST(SupervisordLog, spawned_names_the_program_and_its_pid) {
    const auto line = parsed(record("spawned: 'crashloop-on-failure-sigabrt' with pid 4242"));
    EXPECT_EQ(line.kind, Kind::spawned);
    EXPECT_EQ(line.program, "crashloop-on-failure-sigabrt");
    EXPECT_EQ(line.pid, 4242u);
}

TEST(SupervisordLog, success_is_the_program_entering_running) {
    const auto line = parsed(record("success: web entered RUNNING state, process has stayed up for "
                                    "> than 0 seconds (startsecs)"));
    EXPECT_EQ(line.kind, Kind::success);
    EXPECT_EQ(line.program, "web");
}

TEST(SupervisordLog, exited_with_an_exit_status_is_an_exit_code) {
    const auto line = parsed(record("exited: web (exit status 1; not expected)", "WARN"));
    EXPECT_EQ(line.kind, Kind::exited);
    EXPECT_EQ(line.program, "web");
    EXPECT_EQ(line.exit.code, CLD_EXITED);
    EXPECT_EQ(line.exit.status, 1);
    EXPECT_FALSE(line.expected);
}

TEST(SupervisordLog, exited_as_expected_says_so) {
    const auto line = parsed(record("exited: web (exit status 0; expected)"));
    EXPECT_TRUE(line.expected);
    EXPECT_EQ(line.exit.status, 0);
}

TEST(SupervisordLog, core_dump_is_told_from_a_plain_signal_death) {
    const auto dumped =
        parsed(record("exited: web (terminated by SIGABRT (core dumped); not expected)"));
    EXPECT_EQ(dumped.exit.code, CLD_DUMPED);
    EXPECT_EQ(dumped.exit.status, SIGABRT);

    const auto killed = parsed(record("exited: web (terminated by SIGKILL; not expected)"));
    EXPECT_EQ(killed.exit.code, CLD_KILLED);
    EXPECT_EQ(killed.exit.status, SIGKILL);
}

TEST(SupervisordLog, signal_without_a_name_keeps_its_number) {
    const auto line = parsed(record("exited: web (terminated by signal 64; not expected)"));
    EXPECT_EQ(line.exit.code, CLD_KILLED);
    EXPECT_EQ(line.exit.status, 64);
}

TEST(SupervisordLog, unknown_termination_cause_is_a_kill_by_signal_0) {
    const SupervisordExit exit = decode_supervisord_exit("unknown termination cause 0x7f");
    EXPECT_EQ(exit.code, CLD_KILLED);
    EXPECT_EQ(exit.status, 0);
}

TEST(SupervisordLog, stopped_carries_how_the_process_ended) {
    const auto line = parsed(record("stopped: web (terminated by SIGTERM)"));
    EXPECT_EQ(line.kind, Kind::stopped);
    EXPECT_EQ(line.program, "web");
    EXPECT_EQ(line.exit.code, CLD_KILLED);
    EXPECT_EQ(line.exit.status, SIGTERM);
}

TEST(SupervisordLog, killing_gave_up_and_backoff_stop_name_their_program) {
    const auto killing = parsed(record("killing web (pid 77) with signal SIGTERM", "DEBG"));
    EXPECT_EQ(killing.kind, Kind::killing);
    EXPECT_EQ(killing.program, "web");
    EXPECT_EQ(killing.pid, 77u);
    EXPECT_EQ(parsed(record("killing web (pid 77) process group with signal SIGKILL")).kind,
              Kind::killing);

    const auto gave_up =
        parsed(record("gave up: web entered FATAL state, too many start retries too quickly"));
    EXPECT_EQ(gave_up.kind, Kind::gave_up);
    EXPECT_EQ(gave_up.program, "web");
    EXPECT_EQ(gave_up.why, "too many start retries too quickly"); // supervisord's own words

    const auto backoff = parsed(record("Attempted to kill web, which is in BACKOFF state."));
    EXPECT_EQ(backoff.kind, Kind::backoff_stop);
    EXPECT_EQ(backoff.program, "web");
}

TEST(SupervisordLog, supervisord_starting_is_its_own_record) {
    EXPECT_EQ(parsed(record("supervisord started with pid 10")).kind, Kind::started);
}

TEST(SupervisordLog, other_records_are_read_but_say_nothing) {
    const auto line = parsed(record("RPC interface 'supervisor' initialized"));
    EXPECT_EQ(line.kind, Kind::other);
    EXPECT_TRUE(line.program.empty());
}

TEST(SupervisordLog, lines_that_are_no_record_are_skipped) {
    EXPECT_FALSE(parse_supervisord_log_line("a child's output continuing a debug record"));
    EXPECT_FALSE(parse_supervisord_log_line(""));
    EXPECT_FALSE(parse_supervisord_log_line("2024-05-01 12:00:00 INFO spawned: 'web' with pid 1"))
        << "no milliseconds: not supervisord's record format";
}

} // namespace
