// The judgements the runner, check --real and the soak share (harness/engine/judge.hpp).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>

#include "judge.hpp"

using namespace crashloop;

namespace {

ServiceState ended(int32_t code, int32_t status, std::string result) {
    ServiceState s;
    s.exec_main_code = code;
    s.exec_main_status = status;
    s.result = std::move(result);
    return s;
}

TEST(Judge, an_end_in_the_supervisors_words) {
    EXPECT_EQ(end_in_words(ended(CLD_EXITED, 1, "exit-code")), "exit code 1");
    EXPECT_EQ(end_in_words(ended(CLD_DUMPED, SIGABRT, "core-dump")), "signal SIGABRT");
    EXPECT_EQ(end_in_words(ended(CLD_KILLED, SIGTERM, "success")), "signal SIGTERM");
}

TEST(Judge, an_end_as_a_row_of_table_2) {
    EXPECT_EQ(outcome_of(ended(CLD_EXITED, 3, "exit-code")),
              (Outcome{Outcome::Kind::exited, 3, 0}));
    EXPECT_EQ(outcome_of(ended(CLD_DUMPED, SIGSEGV, "core-dump")),
              (Outcome{Outcome::Kind::killed, 0, SIGSEGV}));
    // The supervisor's Result= names a timeout or a watchdog, whatever signal ended it.
    EXPECT_EQ(outcome_of(ended(CLD_KILLED, SIGABRT, "watchdog")).kind, Outcome::Kind::watchdog);
    EXPECT_EQ(outcome_of(ended(CLD_KILLED, SIGTERM, "timeout")).kind, Outcome::Kind::timeout);
}

TEST(Judge, restart_counts_that_agree_say_nothing) {
    EXPECT_EQ(restart_count_mismatch(2, 2, false, "systemd", "the fixture"), std::nullopt);
}

TEST(Judge, restart_counts_that_disagree_are_named) {
    EXPECT_EQ(restart_count_mismatch(1, 2, false, "systemd", "the fixture"),
              "the fixture counted 1 restart(s), systemd's NRestarts=2");
    EXPECT_EQ(restart_count_mismatch(3, 2, true, "systemd", "the fixture"),
              "the fixture counted 3 restart(s), systemd's NRestarts=2");
}

TEST(Judge, the_restart_the_start_limit_refused_is_counted_by_nrestarts_only) {
    EXPECT_EQ(restart_count_mismatch(4, 5, true, "systemd", "the fixture"), std::nullopt);
    EXPECT_NE(restart_count_mismatch(4, 5, false, "systemd", "the fixture"), std::nullopt);
    EXPECT_NE(restart_count_mismatch(4, 6, true, "systemd", "the fixture"), std::nullopt);
}

} // namespace
