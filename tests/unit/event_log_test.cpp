// The fake httpd's event log as the runner reads it (event_log.cpp): one line
// per event, "<incarnation> <pid> <monotonic ns> <event> [detail]"; a last
// line still being written is left for the next read; any other bad line is an
// InputError naming the file and line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "errors.hpp"
#include "event_log.hpp"
#include "temp_dir.hpp"

using namespace crashloop;
using ::testing::HasSubstr;

namespace {

TEST(EventLog, missing_file_is_an_empty_log) {
    TempDir dir;
    EXPECT_TRUE(read_event_log(dir.path() / "not-started-yet.log").empty());
}

TEST(EventLog, events_carry_incarnation_pid_time_event_and_detail) {
    TempDir dir;
    const auto log = dir.write("cell.log", "1 4242 1000 start\n"
                                           "1 4242 2000 reload-begin k=3 seed=7\n"
                                           "1 4242 3000 exit 1\n");
    const auto events = read_event_log(log);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].incarnation, 1);
    EXPECT_EQ(events[0].pid, 4242);
    EXPECT_EQ(events[0].time_ns, 1000);
    EXPECT_EQ(events[0].event, "start");
    EXPECT_EQ(events[0].detail, "");
    EXPECT_EQ(events[1].event, "reload-begin");
    EXPECT_EQ(events[1].detail, "k=3 seed=7");
    EXPECT_EQ(events[2].detail, "1");
}

TEST(EventLog, half_written_last_line_is_left_for_the_next_read) {
    TempDir dir;
    const auto log = dir.write("cell.log", "1 4242 1000 start\n1 4242 2000 rea");
    ASSERT_EQ(read_event_log(log).size(), 1u)
        << "the line being written is not an error, nor an event";

    dir.write("cell.log", "1 4242 1000 start\n1 4242 2000 ready\n");
    const auto events = read_event_log(log);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].event, "ready");
}

void expect_bad_line(const std::string& text, int line) {
    TempDir dir;
    const auto log = dir.write("cell.log", text);
    try {
        read_event_log(log);
        ADD_FAILURE() << "accepted: " << text;
    } catch (const InputError& e) {
        EXPECT_EQ(e.file(), log.string());
        EXPECT_EQ(e.line(), line);
        EXPECT_THAT(e.what(),
                    HasSubstr(log.string() + ":" + std::to_string(line) +
                              ": expected '<incarnation> <pid> <monotonic ns> <event> [detail]'"));
    }
}

TEST(EventLog, bad_lines_are_input_errors_with_file_and_line) {
    expect_bad_line("1 4242 1000 start\nnonsense\n1 4242 3000 ready\n", 2);
    expect_bad_line("1 4242 1000\n", 1);                          // no event
    expect_bad_line("1 4242 1000 start\n0 4243 2000 start\n", 2); // incarnations count from 1
    expect_bad_line("1 4242 soon start\n", 1);
    expect_bad_line("\n", 1);
}

TEST(EventLog, incarnations_in_order_with_ready_time_and_last_event) {
    TempDir dir;
    const auto events = read_event_log(dir.write("cell.log", "1 101 1000 start\n"
                                                             "1 101 1100 ready\n"
                                                             "1 101 1500 die SIGABRT\n"
                                                             "2 102 2000 start\n"
                                                             "2 102 2100 ready\n"
                                                             "2 102 2200 serve\n"
                                                             "3 103 3000 start\n"));
    const auto incarnations = incarnations_of(events);
    ASSERT_EQ(incarnations.size(), 3u);
    EXPECT_EQ(incarnations[0].number, 1);
    EXPECT_EQ(incarnations[0].pid, 101);
    EXPECT_EQ(incarnations[0].started_ns, 1000);
    EXPECT_EQ(incarnations[0].ready_ns, 1100);
    EXPECT_EQ(incarnations[0].last_event, "die SIGABRT");
    EXPECT_EQ(incarnations[1].pid, 102);
    EXPECT_EQ(incarnations[1].last_event, "serve");
    EXPECT_EQ(incarnations[2].ready_ns, std::nullopt) << "started, not ready yet";
    EXPECT_EQ(incarnations[2].last_event, "start");
}

TEST(EventLog, events_of_a_late_writer_go_to_their_own_incarnation) {
    // A reload helper of incarnation 1 may log after incarnation 2 started.
    TempDir dir;
    const auto events = read_event_log(dir.write("cell.log", "1 101 1000 start\n"
                                                             "2 102 2000 start\n"
                                                             "1 101 2500 reload-done\n"));
    const auto incarnations = incarnations_of(events);
    ASSERT_EQ(incarnations.size(), 2u);
    EXPECT_EQ(incarnations[0].last_event, "reload-done");
    EXPECT_EQ(incarnations[1].last_event, "start");
}

TEST(EventLog, end_of_is_the_incarnations_exit_or_death) {
    TempDir dir;
    const auto events = read_event_log(dir.write("cell.log", "1 101 1000 start\n"
                                                             "1 101 1500 die SIGABRT\n"
                                                             "2 102 2000 start\n"
                                                             "2 102 2600 exit 0\n"
                                                             "3 103 3000 start\n"));
    EXPECT_EQ(end_of(events, 1), 1500);
    EXPECT_EQ(end_of(events, 2), 2600);
    EXPECT_EQ(end_of(events, 3), std::nullopt) << "still running";
    EXPECT_EQ(end_of(events, 4), std::nullopt) << "never started";
}

} // namespace
