// The pure parts of soak --real: the HTTP target, the downtime read from the clients' history,
// and where the kernel's core_pattern puts a crash's core.
#include <gtest/gtest.h>

#include "core_dumps.hpp"
#include "http_load.hpp"

using namespace crashloop;

namespace {

HttpRequest request(long long began_ms, long long ended_ms, HttpOutcome outcome) {
    return {began_ms * 1'000'000, ended_ms * 1'000'000, outcome};
}

TEST(HttpUrl, takes_an_ipv4_address_or_localhost_a_port_and_a_path) {
    std::string why;
    auto t = parse_http_url("http://127.0.0.1:8080/status?x=1", why);
    ASSERT_TRUE(t) << why;
    EXPECT_EQ(t->host, "127.0.0.1");
    EXPECT_EQ(t->port, 8080);
    EXPECT_EQ(t->path, "/status?x=1");
    t = parse_http_url("http://localhost", why);
    ASSERT_TRUE(t) << why;
    EXPECT_EQ(t->host, "127.0.0.1");
    EXPECT_EQ(t->port, 80);
    EXPECT_EQ(t->path, "/");
    EXPECT_EQ(t->text(), "http://127.0.0.1:80/");
}

TEST(HttpUrl, refuses_what_it_cannot_reach_without_guessing) {
    std::string why;
    EXPECT_FALSE(parse_http_url("https://127.0.0.1/", why));
    EXPECT_NE(why.find("https"), std::string::npos) << why;
    EXPECT_FALSE(parse_http_url("http://example.org/", why));
    EXPECT_NE(why.find("IPv4"), std::string::npos) << why;
    EXPECT_FALSE(parse_http_url("http://127.0.0.1:0/", why));
    EXPECT_FALSE(parse_http_url("http://127.0.0.1:65536/", why));
    EXPECT_FALSE(parse_http_url("http://127.0.0.1:80x/", why));
    EXPECT_FALSE(parse_http_url("http://127.0.0.1/a b", why));
}

TEST(HttpDowntime, is_zero_when_no_request_failed) {
    const std::vector<HttpRequest> h = {request(0, 1, HttpOutcome::ok), request(5, 6, HttpOutcome::ok)};
    EXPECT_EQ(http_downtime_ms(h, 2'000'000), 0.0);
}

TEST(HttpDowntime, runs_from_the_first_failure_to_the_first_success_begun_after_it) {
    const std::vector<HttpRequest> h = {
        request(0, 1, HttpOutcome::ok),        // before the crash: not counted
        request(10, 12, HttpOutcome::refused), // the first failure: 10 ms
        request(8, 40, HttpOutcome::ok),       // began before the failure: not the way back
        request(20, 21, HttpOutcome::timed_out),
        request(30, 35, HttpOutcome::ok), // the first success begun after it: ends at 35 ms
    };
    const auto d = http_downtime_ms(h, 5'000'000);
    ASSERT_TRUE(d);
    EXPECT_DOUBLE_EQ(*d, 25.0);
}

TEST(HttpDowntime, is_unknown_while_nothing_succeeded_since) {
    const std::vector<HttpRequest> h = {request(10, 12, HttpOutcome::bad)};
    EXPECT_FALSE(http_downtime_ms(h, 0));
}

TEST(CorePattern, a_plain_name_goes_to_the_working_directory_with_the_pid_when_asked) {
    const CorePattern plain = core_pattern_of("core\n", false);
    EXPECT_FALSE(plain.piped);
    EXPECT_FALSE(pattern_folder(plain));
    EXPECT_TRUE(core_name_matches(plain, "core", 42, 6));
    EXPECT_FALSE(core_name_matches(plain, "core.42", 42, 6));
    const CorePattern with_pid = core_pattern_of("core", true);
    EXPECT_TRUE(core_name_matches(with_pid, "core.42", 42, 6));
    EXPECT_FALSE(core_name_matches(with_pid, "core.43", 42, 6));
    EXPECT_NE(where_cores_go(with_pid).find("working directory"), std::string::npos);
}

TEST(CorePattern, reads_the_pid_signal_and_other_specifiers) {
    const CorePattern p = core_pattern_of("/var/cores/core.%e.%p.%s.%t", true);
    ASSERT_TRUE(pattern_folder(p));
    EXPECT_EQ(*pattern_folder(p), "/var/cores");
    EXPECT_TRUE(core_name_matches(p, "core.apache2.42.6.1700000000", 42, 6));
    EXPECT_FALSE(core_name_matches(p, "core.apache2.42.11.1700000000", 42, 6));
    EXPECT_FALSE(core_name_matches(p, "core.apache2.4242.6.1700000000", 42, 6));
    // A folder made of specifiers cannot be named in advance.
    EXPECT_FALSE(pattern_folder(core_pattern_of("/var/cores/%e/core", false)));
    EXPECT_TRUE(core_name_matches(core_pattern_of("core.%%.%p", false), "core.%.7", 7, 6));
}

TEST(CorePattern, a_pipe_is_named_with_where_to_find_its_cores) {
    const CorePattern coredump =
        core_pattern_of("|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h", false);
    EXPECT_TRUE(coredump.piped);
    EXPECT_NE(where_cores_go(coredump).find("coredumpctl"), std::string::npos);
    EXPECT_FALSE(core_name_matches(coredump, "core", 1, 6));
    const CorePattern apport = core_pattern_of("|/usr/share/apport/apport -p%p -s%s", false);
    EXPECT_NE(where_cores_go(apport).find("/var/crash"), std::string::npos);
}

} // namespace

#include "errors.hpp"
#include "logrotate_run.hpp"

namespace {

using crashloop::InputError;
using crashloop::rewrite_logrotate_config;

TEST(LogrotateConfig, moves_the_logs_into_the_log_folder_and_routes_the_reload) {
    const std::string debian = "/var/log/apache2/*.log {\n"
                               "\tdaily\n"
                               "\tpostrotate\n"
                               "\t\tif pgrep -f ^/usr/sbin/apache2 > /dev/null; then\n"
                               "\t\t\tinvoke-rc.d apache2 reload 2>&1 | logger -t apache2.logrotate\n"
                               "\t\tfi\n"
                               "\tendscript\n"
                               "}\n";
    const auto c = rewrite_logrotate_config(debian, "apache2", "/srv/site/log", "/run/r");
    EXPECT_TRUE(c.text.starts_with("/srv/site/log/*.log {\n")) << c.text;
    // invoke-rc.d and logger by name: found on the router's PATH; /usr/sbin/apache2 is no command.
    EXPECT_NE(c.text.find("\t\t\tinvoke-rc.d apache2 reload"), std::string::npos) << c.text;
    EXPECT_NE(c.text.find("^/usr/sbin/apache2"), std::string::npos) << c.text;
    ASSERT_EQ(c.changes.size(), 1u);
    EXPECT_EQ(c.changes[0], "line 1: /var/log/apache2/*.log → /srv/site/log/*.log");

    const std::string rhel = "/var/log/httpd/*log \"/var/log/httpd/x y.log\" {\n"
                             "    olddir /var/log/old\n"
                             "    postrotate\n"
                             "        /bin/systemctl reload httpd.service > /dev/null 2>/dev/null || true\n"
                             "    endscript\n"
                             "}\n";
    const auto r = rewrite_logrotate_config(rhel, "httpd", "/srv/log", "/run/r");
    EXPECT_NE(r.text.find("/srv/log/*log \"/srv/log/x y.log\" {"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("olddir /srv/log/old"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("/run/r/systemctl reload httpd.service"), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find("/bin/systemctl"), std::string::npos) << r.text;
}

TEST(LogrotateConfig, keeps_global_directives_as_written) {
    const auto c = rewrite_logrotate_config("weekly\ncompress\nsu root adm\nolddir /var/log/old\n"
                                            "/var/log/a.log\n{\n  daily\n}\n",
                                            "f", "/l", "/r");
    EXPECT_EQ(c.text, "weekly\ncompress\nsu root adm\nolddir /l/old\n/l/a.log\n{\n  daily\n}\n");
}

TEST(LogrotateConfig, says_which_line_is_wrong) {
    auto line_of = [](const std::string& text) {
        try {
            rewrite_logrotate_config(text, "f", "/l", "/r");
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(line_of("/a {\n  daily\n").find("f:1"), std::string::npos);
    EXPECT_NE(line_of("/a {\n}\n}\n").find("f:3"), std::string::npos);
    EXPECT_NE(line_of("/a {\n postrotate\n  true\n}\n").find("f:2"), std::string::npos);
    EXPECT_NE(line_of("include /etc/logrotate.d\n").find("host's own logs"), std::string::npos);
    EXPECT_EQ(line_of("# nothing\n\n"), "accepted");
}

} // namespace
