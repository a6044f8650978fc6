// `systemd`: the built-in supervisor, a private systemd user manager that
// crashloop starts itself (private_systemd.hpp) and that takes everything it
// ran with it when it goes. The default driver.
#include "systemd_driver.hpp"

#include "private_systemd.hpp"

namespace crashloop {

SystemdDriver::SystemdDriver(std::unique_ptr<SystemdBus> bus, std::filesystem::path fixture)
    : bus_(std::move(bus)), fixture_(std::move(fixture)) {}

// A unit that ends inactive is garbage-collected at once, with its Result,
// exit status and NRestarts, often before its last PropertiesChanged is sent.
// AddRef= would pin it but needs a bus daemon to track us, so an anchor does:
// a running service ordered After= every unit of the run references them, and
// systemd keeps whatever a live unit references.
void SystemdDriver::reserve(const std::vector<std::string>& services) {
    for (const auto& service : services) by_path_[SystemdBus::unit_path(service)] = service;
    ServiceSpec anchor;
    anchor.name = service_prefix() + "anchor-" + std::to_string(++anchors_) + ".service";
    anchor.description = "crashloop: keeps this run's units loaded";
    anchor.type = "simple";
    anchor.exec_start = {fixture_.string(), "--plan", "serve", "--events",
                         (events_dir() / (anchor.name + ".log")).string()};
    anchor.after = services;
    made_.push_back(anchor.name);
    // Not waited for: systemd creates the unit (and so holds the references)
    // before it handles the next request, and a refusal surfaces from wait().
    bus_->start(anchor, [failure = anchor_failure_, name = anchor.name](const std::string& error, const std::string&) {
        if (!error.empty()) *failure = "starting " + name + ": " + error;
    });
}

bool SystemdDriver::wait(std::chrono::steady_clock::time_point deadline, int interrupt_fd) {
    const bool interrupted = bus_->wait(deadline, interrupt_fd);
    if (!anchor_failure_->empty()) throw SupervisorError(*anchor_failure_);
    return interrupted;
}

void SystemdDriver::watch(OnChange on_change, OnJobDone on_job_done) {
    bus_->watch(
        [this, on_change = std::move(on_change)](const std::string& path, const ServiceState& live) {
            auto it = by_path_.find(path);
            if (it != by_path_.end()) on_change(it->second, live);
        },
        std::move(on_job_done));
}

void SystemdDriver::start(const ServiceSpec& service, Done done) {
    by_path_[SystemdBus::unit_path(service.name)] = service.name;
    made_.push_back(service.name);
    bus_->start(service, std::move(done));
}

namespace {

class BuiltInSystemd : public SystemdDriver {
  public:
    BuiltInSystemd(std::unique_ptr<PrivateSystemd> systemd, const std::filesystem::path& fixture)
        : SystemdDriver(std::make_unique<SystemdBus>(systemd->bus_address()), fixture),
          systemd_(std::move(systemd)) {}
    ~BuiltInSystemd() override = default; // the manager and all under it go with systemd_

    std::filesystem::path events_dir() const override { return PrivateSystemd::events_dir; }
    std::filesystem::path from_host(const std::filesystem::path& inside) const override {
        return systemd_->from_host(inside);
    }

  private:
    std::unique_ptr<PrivateSystemd> systemd_;
};

} // namespace

DriverInfo systemd_driver() {
    return {.name = "systemd",
            .usage = "systemd (the built-in private user manager, the default)",
            .make = [](const DriverContext& context) -> std::unique_ptr<Supervisor> {
                auto systemd = std::make_unique<PrivateSystemd>(
                    PrivateSystemd::Options{.keeper = context.libexec / "crashloop-sandbox"});
                return std::make_unique<BuiltInSystemd>(std::move(systemd), context.libexec / "fake-httpd");
            }};
}

} // namespace crashloop
