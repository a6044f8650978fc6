#pragma once
// A client of one systemd manager over its private D-Bus socket (sd-bus):
// transient services, stop/reload, unit snapshots, and the signals that say
// something changed. Single-threaded: the caller runs the loop (wait()).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "supervisor.hpp"

struct sd_bus;
struct sd_bus_message;

namespace crashloop {

class SystemdBus {
  public:
    using Done = std::function<void(const std::string& error, const std::string& job)>;
    using SnapshotDone = std::function<void(const std::string& error, const ServiceState&)>;

    explicit SystemdBus(const std::string& address); // throws SupervisorError
    ~SystemdBus();
    SystemdBus(const SystemdBus&) = delete;
    SystemdBus& operator=(const SystemdBus&) = delete;

    std::string version(); // Manager.Version, synchronously
    // Subscribe() and one match for all PropertiesChanged / JobRemoved.
    // on_unit_changed gets the unit's state as merged from every signal so far.
    // Called again, it only replaces the receivers.
    void watch(std::function<void(const std::string& unit_path, const ServiceState& live)> on_unit_changed,
               std::function<void(const std::string& job, const std::string& unit,
                                  const std::string& result)> on_job_removed);

    void start(const ServiceSpec& service, Done done);
    void stop(const std::string& unit, Done done);
    void reload(const std::string& unit, Done done);
    // KillUnit(unit, "main", signal): what `kill -s SIG <MainPID>` does, by name. No job.
    void kill(const std::string& unit, int signal, Done done);
    // ResetFailedUnit: a failed unit is forgotten (no job).
    void reset_failed(const std::string& unit, Done done);
    // Both property sets, read in one round trip each: the reply reflects every
    // state change systemd made before it, so it doubles as a barrier. A unit
    // that ended inactive is garbage-collected before systemd even answers; its
    // snapshot is then what its last PropertiesChanged signals said, marked
    // `collected`. (AddRef= would keep it, but needs a bus daemon to track us.)
    void snapshot(const std::string& unit_path, SnapshotDone done);

    static std::string unit_path(const std::string& unit_name);

    // Dispatches what has arrived; if nothing had, waits for the bus or
    // `extra_fd` until the deadline and dispatches that. Returns true when
    // extra_fd became readable. Callers loop until their condition holds.
    bool wait(std::chrono::steady_clock::time_point deadline, int extra_fd);

  private:
    sd_bus* bus_ = nullptr;
    std::function<void(const std::string&, const ServiceState&)> on_unit_changed_;
    std::function<void(const std::string&, const std::string&, const std::string&)> on_job_removed_;
    // sd-bus match callbacks point here; they live as long as the connection.
    std::unique_ptr<std::function<void(sd_bus_message*)>> properties_changed_, job_removed_;
    std::map<std::string, ServiceState> live_; // per unit path, merged from every signal and reply
    // Calls that could not be sent, each delivering its error to its callback
    // from the next wait().
    std::vector<std::function<void()>> undelivered_;
    bool process_all(); // true when anything was dispatched
    enum class Reply { job, plain }; // a job path ("o"), or nothing
    void call(const char* method, const std::string& unit, Reply reply, Done done,
              const std::function<void(sd_bus_message*)>& append_arguments);
};

} // namespace crashloop
