#include "subject.hpp"

namespace crashloop {

namespace {

// Each part of the plan (one per incarnation, '|' between them) daemonizes first.
std::string daemonized(const std::string& plan) {
    std::string forking;
    size_t start = 0;
    for (;;) {
        const size_t bar = plan.find('|', start);
        std::string part = plan.substr(start, bar == std::string::npos ? bar : bar - start);
        const size_t last = part.rfind(',');
        const std::string final_step = part.substr(last == std::string::npos ? 0 : last + 1);
        if (final_step.starts_with("die:") || final_step.starts_with("exit:"))
            part.insert(last == std::string::npos ? 0 : last + 1, "wait-go,");
        forking += (start ? "|" : "") + std::string("daemonize,") + part;
        if (bar == std::string::npos) break;
        start = bar + 1;
    }
    return forking;
}

} // namespace

void play_with_fake_httpd(ServiceSpec& s, const FakeHttpd& fake) {
    const std::string program = fake.program.string();
    const bool forking = s.type == "forking";
    s.exec_start = {program,   forking ? daemonized(fake.plan) : fake.plan,
                    "--events", fake.events, "--pidfile", fake.pidfile, "--name", fake.name};
    s.exec_start.insert(s.exec_start.begin() + 1, "--plan");
    s.exec_start.insert(s.exec_start.end(), fake.extra_args.begin(), fake.extra_args.end());
    if (!fake.dies_with_parent) s.exec_start.insert(s.exec_start.end(), {"--parent-death", "none"});
    s.exec_reload.clear();
    if (fake.reloads)
        s.exec_reload = {program, "-k", "graceful", "--pidfile", fake.pidfile, "--events", fake.events};
    if (!s.exec_stop.empty()) s.exec_stop = {program, "-k", "graceful-stop", "--pidfile", fake.pidfile};
    s.pid_file = forking ? fake.pidfile : "";
}

ServiceSpec real_daemon(const ServiceSettings& unit) {
    ServiceSpec s = service_spec_of(unit);
    add_environment_files(s, unit);
    return s;
}

} // namespace crashloop
