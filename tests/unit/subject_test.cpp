// The subjects a workload runs (engine/subject.hpp): the fake httpd in place of a unit's
// commands, its plan made to daemonize for Type=forking.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "subject.hpp"

namespace crashloop {
namespace {

using ::testing::ElementsAre;

FakeHttpd fake(std::string plan) {
    FakeHttpd f;
    f.program = "/libexec/fake-httpd";
    f.plan = std::move(plan);
    f.events = "/run/e/x.log";
    f.pidfile = "/run/e/x.pid";
    f.name = "on-failure/sigabrt";
    return f;
}

TEST(FakeHttpdSubject, TakesTheUnitsCommandsPlaces) {
    ServiceSpec s;
    s.type = "notify";
    s.exec_stop = {"/usr/sbin/apachectl", "graceful-stop"};
    s.pid_file = "/run/apache2/apache2.pid";
    FakeHttpd f = fake("ready,serve");
    f.extra_args = {"--port", "8080"};
    play_with_fake_httpd(s, f);
    EXPECT_THAT(s.exec_start,
                ElementsAre("/libexec/fake-httpd", "--plan", "ready,serve", "--events",
                            "/run/e/x.log", "--pidfile", "/run/e/x.pid", "--name",
                            "on-failure/sigabrt", "--port", "8080"));
    EXPECT_THAT(s.exec_reload, ElementsAre("/libexec/fake-httpd", "-k", "graceful", "--pidfile",
                                           "/run/e/x.pid", "--events", "/run/e/x.log"));
    EXPECT_THAT(s.exec_stop, ElementsAre("/libexec/fake-httpd", "-k", "graceful-stop",
                                         "--pidfile", "/run/e/x.pid"));
    EXPECT_EQ(s.pid_file, "") << "only a forking unit names a pidfile";
}

TEST(FakeHttpdSubject, NoReloadAndNoStopWhereTheUnitHasNone) {
    ServiceSpec s;
    FakeHttpd f = fake("ready,serve");
    f.reloads = false;
    play_with_fake_httpd(s, f);
    EXPECT_TRUE(s.exec_reload.empty());
    EXPECT_TRUE(s.exec_stop.empty());
}

TEST(FakeHttpdSubject, AForkingIncarnationDaemonizesAndWaitsForTheGoBeforeItDies) {
    ServiceSpec s;
    s.type = "forking";
    play_with_fake_httpd(s, fake("ready,die:SIGABRT|ready,serve|exit:3"));
    EXPECT_EQ(s.exec_start[2],
              "daemonize,ready,wait-go,die:SIGABRT|daemonize,ready,serve|daemonize,wait-go,exit:3");
    EXPECT_EQ(s.pid_file, "/run/e/x.pid");
}

} // namespace
} // namespace crashloop
