#pragma once
// Drives a systemd manager over sd-bus (systemd_bus.hpp): the built-in private
// manager (`systemd`, systemd_driver.cpp) and the host's own (`systemd-host`,
// systemd_host_driver.cpp). Services are transient units; changes arrive as
// PropertiesChanged and JobRemoved signals; a state() is a property read,
// which systemd answers only after every change it made before it.
#include <map>
#include <memory>

#include "systemd_bus.hpp"
#include "supervisor.hpp"

namespace crashloop {

class SystemdDriver : public Supervisor {
  public:
    // `fixture` runs the anchor (see reserve()).
    SystemdDriver(std::unique_ptr<SystemdBus> bus, std::filesystem::path fixture);

    std::string name() const override { return "systemd"; }
    std::string version() override { return bus_->version(); }
    std::optional<std::string> cannot_express(const ServiceSpec&, const ExitCause&) const override {
        return std::nullopt; // the manual's own supervisor: every cell runs
    }

    void reserve(const std::vector<std::string>& services) override;
    void watch(OnChange on_change, OnJobDone on_job_done) override;
    void start(const ServiceSpec& service, Done done) override;
    void stop(const std::string& service, Done done) override { bus_->stop(service, std::move(done)); }
    void reload(const std::string& service, Done done) override { bus_->reload(service, std::move(done)); }
    void kill(const std::string& service, int signal, Done done) override {
        bus_->kill(service, signal, std::move(done));
    }
    void state(const std::string& service, StateDone done) override {
        bus_->snapshot(SystemdBus::unit_path(service), std::move(done));
    }
    bool wait(std::chrono::steady_clock::time_point deadline, int interrupt_fd) override;

  protected:
    SystemdBus& bus() { return *bus_; }
    std::vector<std::string> made_; // every unit this run started, anchor included

  private:
    std::unique_ptr<SystemdBus> bus_;
    std::filesystem::path fixture_;
    std::map<std::string, std::string> by_path_; // D-Bus object path → unit name
    int anchors_ = 0;
    std::shared_ptr<std::string> anchor_failure_ = std::make_shared<std::string>();
};

} // namespace crashloop
