// `systemd-host`: the host's own running systemd (by default the system
// manager on /run/systemd/private; `systemd-host:ADDRESS` names another bus,
// e.g. a user manager's `unix:path=/run/user/1000/systemd/private`).
// It refuses to run without --allow-host. Every unit it makes is named with a
// prefix unique to the run (crashloop-<pid>-<random>-), it touches no other
// unit, and at the end it stops and resets every unit it made and removes its
// event directory. A run killed outright (SIGKILL) cannot clean up: its units
// are then found with `systemctl list-units 'crashloop-*'`, and its event
// directory is removed by the next run.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "errors.hpp"
#include "systemd_driver.hpp"

namespace crashloop {

namespace {

constexpr const char* kSystemManager = "unix:path=/run/systemd/private";

class HostSystemd : public SystemdDriver {
  public:
    HostSystemd(const std::string& address, const std::filesystem::path& fixture)
        : SystemdDriver(std::make_unique<SystemdBus>(address), fixture),
          prefix_(fmt::format("crashloop-{}-{:04x}-", getpid(), std::random_device{}() & 0xffff)) {
        remove_stale_event_dirs();
        std::string dir = fmt::format("/tmp/crashloop-host-{}-XXXXXX", getpid());
        if (!mkdtemp(dir.data())) throw SupervisorError("cannot make a directory for the event logs in /tmp");
        events_ = dir;
        // A user manager runs the fake httpd as its user, who must be able to
        // write its log here (sticky: nobody removes another's file).
        if (address != kSystemManager) chmod(dir.c_str(), 01777);
    }

    ~HostSystemd() override {
        // Stop every unit this run made and wait for those stops to end, then
        // forget the failed ones; nothing else is touched.
        std::set<std::string> stopping;
        int replies = 0;
        try {
            watch([](const std::string&, const ServiceState&) {},
                  [&stopping](const std::string& job, const std::string&, const std::string&) { stopping.erase(job); });
            for (const auto& unit : made_) {
                ++replies;
                bus().stop(unit, [&](const std::string&, const std::string& job) {
                    --replies;
                    if (!job.empty()) stopping.insert(job);
                });
            }
            drain([&] { return replies == 0 && stopping.empty(); }, "stop");
            for (const auto& unit : made_) {
                ++replies;
                bus().reset_failed(unit, [&](const std::string&, const std::string&) { --replies; });
            }
            drain([&] { return replies == 0; }, "reset-failed");
        } catch (const std::exception& e) {
            spdlog::error("cleaning up the host's units: {}", e.what());
        }
        std::error_code ignored;
        std::filesystem::remove_all(events_, ignored);
    }

    std::string service_prefix() const override { return prefix_; }
    std::filesystem::path events_dir() const override { return events_; }

  private:
    // A run killed outright cannot remove its event logs; the next run does
    // (directories named after a process that is gone).
    static void remove_stale_event_dirs() {
        std::error_code error;
        for (const auto& entry : std::filesystem::directory_iterator("/tmp", error)) {
            const std::string name = entry.path().filename().string();
            if (!name.starts_with("crashloop-host-")) continue;
            const int owner = std::atoi(name.c_str() + std::string("crashloop-host-").size());
            if (owner <= 0 || owner == getpid() || std::filesystem::exists("/proc/" + std::to_string(owner))) continue;
            std::error_code ignored;
            std::filesystem::remove_all(entry.path(), ignored);
        }
    }

    std::string prefix_;
    std::filesystem::path events_;

    template <typename Done> void drain(Done done, const char* what) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!done() && std::chrono::steady_clock::now() < deadline) bus().wait(deadline, -1);
        if (!done()) spdlog::error("the host's systemd did not finish the run's {} calls in 30 s", what);
    }
};

} // namespace

DriverInfo systemd_host_driver() {
    return {.name = "systemd-host",
            .usage = "systemd-host[:BUS_ADDRESS] (the host's own systemd; needs --allow-host)",
            .takes_argument = true,
            .argument_optional = true,
            .make = [](const DriverContext& context) -> std::unique_ptr<Supervisor> {
                        if (!context.allow_host)
                            throw InputError("--supervisor", 0,
                                             "systemd-host drives the host's own systemd; pass --allow-host to "
                                             "allow it (units are named crashloop-<pid>-…, nothing else is touched)");
                        const std::string address = context.argument.empty() ? kSystemManager : context.argument;
                        if (address == kSystemManager && access("/run/systemd/private", F_OK) != 0)
                            throw SupervisorError("no systemd manager on this host (/run/systemd/private is "
                                                  "missing: PID 1 is not systemd)");
                        return std::make_unique<HostSystemd>(address, context.libexec / "fake-httpd");
                    }};
}

} // namespace crashloop
