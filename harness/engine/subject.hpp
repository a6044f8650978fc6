#pragma once
// The subject a workload runs under the supervisor: the fake httpd playing a unit's daemon on
// a plan, or the unit's real daemon itself. Both start from the one translation of the unit
// (service_spec_of); only the commands differ.
#include <filesystem>
#include <string>
#include <vector>

#include "service_settings.hpp"
#include "service_spec.hpp"

namespace crashloop {

// The fake httpd in place of a unit's daemon: its plan, and where it logs and keeps its
// pidfile (as the service sees them).
struct FakeHttpd {
    std::filesystem::path program;
    std::string plan;
    std::string events, pidfile, name;
    std::vector<std::string> extra_args; // "--port", "8080", "--workers", "2"
    bool reloads = true;                 // ExecReload= asks it for a graceful reload
    bool dies_with_parent = true; // false: its launcher may exit (Supervisor::parent_may_exit)
};

// Puts the fake httpd in place of the unit's commands: ExecStart= runs the plan, ExecReload=
// (when it reloads) is `fake-httpd -k graceful`, ExecStop= (where the unit has one) `-k
// graceful-stop`. A Type=forking unit's incarnations daemonize, as apachectl start does, and
// one that is to die by itself first waits for the go (SIGUSR2, once the supervisor runs it
// as its main pid), so that it never dies before the supervisor has read its pidfile.
void play_with_fake_httpd(ServiceSpec& service, const FakeHttpd& fake);

// The unit's own daemon, its commands as they are, its EnvironmentFile= read now (as the
// supervisor would read it at each start).
ServiceSpec real_daemon(const ServiceSettings& unit);

} // namespace crashloop
