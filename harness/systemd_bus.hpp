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

#include "restart_table.hpp"

struct sd_bus;
struct sd_bus_message;

namespace crashloop {

// The settings of a transient service, in the manual's terms.
struct TransientService {
    std::string name; // "crashloop-on-failure-sigabrt.service"
    std::string description;
    std::string type = "notify";
    RestartValue restart = RestartValue::no;
    std::chrono::microseconds restart_sec{100000};
    std::chrono::microseconds timeout_start{30000000};
    std::chrono::microseconds timeout_stop{10000000};
    std::chrono::microseconds watchdog{0}; // 0: none
    std::vector<std::string> exec_start;   // argv, argv[0] absolute
    std::vector<std::string> exec_reload;  // empty: none
    std::vector<std::string> exec_stop;    // empty: none
    std::string pid_file;                  // PIDFile=, for Type=forking
    int kill_signal = 0;                   // KillSignal=; 0: systemd's default (SIGTERM)
    std::string kill_mode;                 // KillMode=; empty: the default
    std::optional<std::chrono::microseconds> start_limit_interval; // StartLimitIntervalUSec=
    std::optional<unsigned> start_limit_burst;                     // StartLimitBurst=
    RestartRules rules;
    std::vector<std::string> after; // After= (an anchor uses it to keep units referenced)
    std::vector<std::string> environment; // Environment=, "NAME=value" each
};

// What systemd says about a service at one moment.
struct UnitSnapshot {
    std::string active_state; // "active", "failed" …
    std::string sub_state;    // "running", "auto-restart" …
    std::string result;       // "success", "core-dump", "timeout" …
    uint32_t main_pid = 0;
    uint32_t n_restarts = 0;
    int32_t exec_main_code = 0; // CLD_EXITED / CLD_KILLED / CLD_DUMPED, 0 when none
    int32_t exec_main_status = 0;
    uint64_t exec_main_exit_us = 0; // CLOCK_MONOTONIC
    uint32_t job_id = 0;            // a queued or running job (start, stop, reload), 0 if none
    std::string load_state;         // "loaded"; "not-found" once systemd collected the unit
    bool collected = false;         // gone from the manager: this is its last word
    std::string state() const { return active_state + "/" + sub_state; }
};

class SystemdBus {
  public:
    using Done = std::function<void(const std::string& error, const std::string& job)>;
    using SnapshotDone = std::function<void(const std::string& error, const UnitSnapshot&)>;

    explicit SystemdBus(const std::string& address); // throws SupervisorError
    ~SystemdBus();
    SystemdBus(const SystemdBus&) = delete;
    SystemdBus& operator=(const SystemdBus&) = delete;

    std::string version(); // Manager.Version, synchronously
    // Subscribe() and one match for all PropertiesChanged / JobRemoved.
    // on_unit_changed gets the unit's state as merged from every signal so far.
    void watch(std::function<void(const std::string& unit_path, const UnitSnapshot& live)> on_unit_changed,
               std::function<void(const std::string& job, const std::string& unit,
                                  const std::string& result)> on_job_removed);

    void start(const TransientService& service, Done done);
    void stop(const std::string& unit, Done done);
    void reload(const std::string& unit, Done done);
    // KillUnit(unit, "main", signal): what `kill -s SIG <MainPID>` does, by name. No job.
    void kill(const std::string& unit, int signal, Done done);
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
    std::function<void(const std::string&, const UnitSnapshot&)> on_unit_changed_;
    std::function<void(const std::string&, const std::string&, const std::string&)> on_job_removed_;
    // sd-bus match callbacks point here; they live as long as the connection.
    std::unique_ptr<std::function<void(sd_bus_message*)>> properties_changed_, job_removed_;
    std::map<std::string, UnitSnapshot> live_; // per unit path, merged from every signal and reply
    bool process_all(); // true when anything was dispatched
};

} // namespace crashloop
