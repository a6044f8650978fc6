#pragma once
// The built-in supervisor: a private systemd user manager, started by
// crashloop-sandbox (see sandbox_main.cpp) and gone when this object is.
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "errors.hpp"

namespace crashloop {

class Keeper;

class PrivateSystemd {
  public:
    struct Options {
        std::filesystem::path keeper;                // crashloop-sandbox
        std::filesystem::path systemd = "/lib/systemd/systemd";
        std::chrono::milliseconds ready_timeout{30000};
        std::string log_level = "warning";           // systemd's own
    };
    // Inside the manager's mount namespace: where fixtures write their events.
    static constexpr const char* events_dir = "/run/crashloop/events";

    explicit PrivateSystemd(const Options& options); // throws SupervisorError
    ~PrivateSystemd();                               // everything under it is gone
    PrivateSystemd(const PrivateSystemd&) = delete;
    PrivateSystemd& operator=(const PrivateSystemd&) = delete;

    // Its private D-Bus socket, reached through the keeper's mount namespace.
    std::string bus_address() const;
    // A path inside the manager's namespace, as this process can open it.
    std::filesystem::path from_host(const std::filesystem::path& inside) const;
    int keeper_pid() const;

  private:
    std::unique_ptr<Keeper> keeper_;
};

// Where the built binaries live ($CRASHLOOP_LIBEXEC_DIR, else beside the running
// executable, else an installed <prefix>/libexec/crashloop beside its bin/, else the
// build directory compiled in) and the scenarios ($CRASHLOOP_SCENARIOS_DIR, else an
// installed <prefix>/share/crashloop/scenarios, else the source tree's). --libexec and
// --scenarios come before either.
std::filesystem::path libexec_dir();
std::filesystem::path scenarios_dir();

} // namespace crashloop
