#include "systemd_bus.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-bus.h>

#include <cerrno>
#include <exception>
#include <utility>
#include <cstring>

#include "private_systemd.hpp"
#include "service_settings.hpp"

namespace crashloop {

namespace {
constexpr const char* kDestination = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

std::string errno_text(int r) { return std::strerror(r < 0 ? -r : r); }

void check(int r, const std::string& what) {
    if (r < 0) throw SupervisorError(what + ": " + errno_text(r));
}

std::string error_of(sd_bus_message* reply) {
    const sd_bus_error* error = sd_bus_message_get_error(reply);
    if (!error) return "";
    return std::string(error->name ? error->name : "error") + ": " +
           (error->message ? error->message : "");
}

// Heap-owned callbacks for sd_bus_call_async, freed when the reply comes.
template <typename F> struct Pending {
    F done;
};

// Our callbacks run inside sd_bus_process(), which is C: an exception must not
// cross it. It is kept here and rethrown once sd_bus_process() has returned.
thread_local std::exception_ptr callback_failure;

template <typename F> int guarded(F&& body) {
    try {
        body();
    } catch (...) {
        if (!callback_failure) callback_failure = std::current_exception();
    }
    return 0;
}

int on_job_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) {
    std::unique_ptr<Pending<SystemdBus::Done>> pending(
        static_cast<Pending<SystemdBus::Done>*>(userdata));
    std::string error = error_of(reply);
    const char* job = "";
    if (error.empty() && sd_bus_message_read(reply, "o", &job) < 0) error = "malformed job reply";
    return guarded([&] { pending->done(error, job ? job : ""); });
}

int on_plain_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) {
    std::unique_ptr<Pending<SystemdBus::Done>> pending(
        static_cast<Pending<SystemdBus::Done>*>(userdata));
    return guarded([&] { pending->done(error_of(reply), ""); });
}

void append_argv(sd_bus_message* m, const std::vector<std::string>& argv) {
    // ExecStart=/ExecReload= are a(sasb): path, argv, ignore-failure.
    check(sd_bus_message_open_container(m, 'v', "a(sasb)"), "append exec");
    check(sd_bus_message_open_container(m, 'a', "(sasb)"), "append exec");
    check(sd_bus_message_open_container(m, 'r', "sasb"), "append exec");
    check(sd_bus_message_append(m, "s", argv.front().c_str()), "append exec");
    check(sd_bus_message_open_container(m, 'a', "s"), "append exec");
    for (const auto& arg : argv) check(sd_bus_message_append(m, "s", arg.c_str()), "append exec");
    check(sd_bus_message_close_container(m), "append exec");
    check(sd_bus_message_append(m, "b", 0), "append exec");
    check(sd_bus_message_close_container(m), "append exec");
    check(sd_bus_message_close_container(m), "append exec");
    check(sd_bus_message_close_container(m), "append exec");
}

void append_status_set(sd_bus_message* m, const char* name, const ExitStatusSet& set) {
    if (set.empty()) return;
    // SuccessExitStatus= & co. are (aiai): exit codes, then signals.
    check(sd_bus_message_open_container(m, 'r', "sv"), name);
    check(sd_bus_message_append(m, "s", name), name);
    check(sd_bus_message_open_container(m, 'v', "(aiai)"), name);
    check(sd_bus_message_open_container(m, 'r', "aiai"), name);
    for (const auto* list : {&set.codes, &set.signals}) {
        check(sd_bus_message_open_container(m, 'a', "i"), name);
        for (int value : *list) check(sd_bus_message_append(m, "i", value), name);
        check(sd_bus_message_close_container(m), name);
    }
    check(sd_bus_message_close_container(m), name);
    check(sd_bus_message_close_container(m), name);
    check(sd_bus_message_close_container(m), name);
}

// After=, Environment= and the like are `as`; an empty list is left out.
void append_strings(sd_bus_message* m, const char* name, const std::vector<std::string>& values) {
    if (values.empty()) return;
    check(sd_bus_message_open_container(m, 'r', "sv"), name);
    check(sd_bus_message_append(m, "s", name), name);
    check(sd_bus_message_open_container(m, 'v', "as"), name);
    check(sd_bus_message_open_container(m, 'a', "s"), name);
    for (const auto& value : values) check(sd_bus_message_append(m, "s", value.c_str()), name);
    check(sd_bus_message_close_container(m), name);
    check(sd_bus_message_close_container(m), name);
    check(sd_bus_message_close_container(m), name);
}

// A time span as systemd's `t` µs properties take it: infinity is USEC_INFINITY
// (UINT64_MAX), not INT64_MAX, which systemd would hold as a 292-millennium timeout.
uint64_t usec(std::chrono::microseconds span) {
    return span == infinite_time ? UINT64_MAX : static_cast<uint64_t>(span.count());
}

template <typename T> void append_property(sd_bus_message* m, const char* name, const char* type, T value) {
    check(sd_bus_message_append(m, "(sv)", name, type, value), name);
}

// Reads the properties we need out of a GetAll reply (a{sv}).
void read_properties(sd_bus_message* reply, ServiceState& s) {
    check(sd_bus_message_enter_container(reply, 'a', "{sv}"), "read properties");
    while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
        const char* name = nullptr;
        check(sd_bus_message_read(reply, "s", &name), "read property name");
        std::string key = name;
        auto read_string = [&](std::string& out) {
            const char* value = nullptr;
            check(sd_bus_message_read(reply, "v", "s", &value), key);
            out = value ? value : "";
        };
        if (key == "ActiveState") read_string(s.active_state);
        else if (key == "LoadState") read_string(s.load_state);
        else if (key == "SubState") read_string(s.sub_state);
        else if (key == "Result") read_string(s.result);
        else if (key == "MainPID") check(sd_bus_message_read(reply, "v", "u", &s.main_pid), key);
        else if (key == "NRestarts") check(sd_bus_message_read(reply, "v", "u", &s.n_restarts), key);
        else if (key == "ExecMainCode") check(sd_bus_message_read(reply, "v", "i", &s.exec_main_code), key);
        else if (key == "ExecMainStatus") check(sd_bus_message_read(reply, "v", "i", &s.exec_main_status), key);
        else if (key == "ExecMainExitTimestampMonotonic")
            check(sd_bus_message_read(reply, "v", "t", &s.exec_main_exit_us), key);
        else if (key == "Job") {
            const char* job_path = nullptr;
            check(sd_bus_message_read(reply, "v", "(uo)", &s.job_id, &job_path), key);
        } else check(sd_bus_message_skip(reply, "v"), key);
        check(sd_bus_message_exit_container(reply), "read property");
    }
    check(sd_bus_message_exit_container(reply), "read properties");
}

// A snapshot is two GetAll calls (the Unit and the Service interfaces), answered at two
// moments. Each reply is taken into the unit's live state as it arrives, as a signal is: a
// reply follows every signal systemd sent before it and precedes every one it sends after, so
// the state is always the newest. (Merged at the end instead, the first reply's ActiveState
// overwrote a PropertiesChanged that came between the two: a soak then waited 35 s on an
// `activating` long over.)
struct SnapshotCall {
    std::function<void(const std::string&, const ServiceState&)> done;
    ServiceState* live = nullptr;
    std::string error;
    int replies = 0;
    bool not_found = false;
};

void take_reply(SnapshotCall& call, sd_bus_message* reply) {
    ServiceState& live = *call.live;
    ServiceState read = live;
    read_properties(reply, read);
    if (read.load_state == "not-found" || call.not_found) {
        call.not_found = true;
        live.load_state = "not-found";
        // Collected. Its last PropertiesChanged may still be on the way: only a unit whose
        // signals already said it went down is settled.
        live.collected = live.active_state == "inactive" || live.active_state == "failed";
        if (live.collected) live.job_id = 0;
        return;
    }
    read.collected = false; // loaded (again: a unit of the same name started anew)
    live = read;
}

int on_properties_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) {
    auto* call = static_cast<SnapshotCall*>(userdata);
    std::string error = error_of(reply);
    if (error.empty()) {
        try {
            take_reply(*call, reply);
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    if (call->error.empty()) call->error = error;
    if (++call->replies == 2) {
        std::unique_ptr<SnapshotCall> owned(call);
        return guarded([&] { owned->done(owned->error, *owned->live); });
    }
    return 0;
}

int on_signal(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* self = static_cast<std::function<void(sd_bus_message*)>*>(userdata);
    return guarded([&] { (*self)(m); });
}
} // namespace

SystemdBus::SystemdBus(const std::string& address) {
    check(sd_bus_new(&bus_), "sd_bus_new");
    check(sd_bus_set_address(bus_, address.c_str()), "sd_bus_set_address " + address);
    // A manager's private socket speaks peer-to-peer D-Bus: no bus daemon, no Hello.
    check(sd_bus_set_bus_client(bus_, 0), "sd_bus_set_bus_client");
    int r = sd_bus_start(bus_);
    if (r < 0) {
        sd_bus_unref(bus_);
        bus_ = nullptr;
        throw SupervisorError("cannot connect to " + address + ": " + errno_text(r));
    }
}

SystemdBus::~SystemdBus() {
    if (bus_) sd_bus_flush_close_unref(bus_);
}

std::string SystemdBus::version() {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    char* version = nullptr;
    int r = sd_bus_get_property_string(bus_, kDestination, kManagerPath, kManager, "Version",
                                       &error, &version);
    std::string message = error.message ? error.message : errno_text(r);
    sd_bus_error_free(&error);
    if (r < 0) throw SupervisorError("reading the manager's Version: " + message);
    std::string result = version;
    free(version);
    return result;
}

void SystemdBus::watch(std::function<void(const std::string&, const ServiceState&)> on_unit_changed,
                       std::function<void(const std::string&, const std::string&, const std::string&)>
                           on_job_removed) {
    on_unit_changed_ = std::move(on_unit_changed);
    on_job_removed_ = std::move(on_job_removed);
    if (properties_changed_) return; // subscribed already: new receivers only
    properties_changed_ = std::make_unique<std::function<void(sd_bus_message*)>>([this](sd_bus_message* m) {
        const char* path = sd_bus_message_get_path(m);
        const char* interface = nullptr;
        if (!path || sd_bus_message_read(m, "s", &interface) < 0) return;
        ServiceState& live = live_[path];
        read_properties(m, live);
        if (auto log = spdlog::get("systemd"))
            log->trace("{} {}: {}, main pid {}, exit code/status {}/{}, NRestarts {}", path, interface,
                       live.state(), live.main_pid, live.exec_main_code, live.exec_main_status,
                       live.n_restarts);
        if (on_unit_changed_) on_unit_changed_(path, live);
    });
    job_removed_ = std::make_unique<std::function<void(sd_bus_message*)>>([this](sd_bus_message* m) {
        uint32_t id = 0;
        const char *job = nullptr, *unit = nullptr, *result = nullptr;
        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0) return;
        if (auto log = spdlog::get("systemd")) log->trace("job {} for {} removed: {}", job, unit, result);
        if (on_job_removed_) on_job_removed_(job, unit, result);
    });
    check(sd_bus_match_signal(bus_, nullptr, nullptr, nullptr, "org.freedesktop.DBus.Properties",
                              "PropertiesChanged", on_signal, properties_changed_.get()),
          "match PropertiesChanged");
    check(sd_bus_match_signal(bus_, nullptr, nullptr, kManagerPath, kManager, "JobRemoved",
                              on_signal, job_removed_.get()),
          "match JobRemoved");
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(bus_, kDestination, kManagerPath, kManager, "Subscribe", &error,
                               nullptr, "");
    std::string message = error.message ? error.message : errno_text(r);
    sd_bus_error_free(&error);
    if (r < 0) throw SupervisorError("Subscribe: " + message);
}

namespace {

void append_transient_service(sd_bus_message* m, const ServiceSpec& s) {
    check(sd_bus_message_append(m, "ss", s.name.c_str(), "fail"), "StartTransientUnit");
    check(sd_bus_message_open_container(m, 'a', "(sv)"), "properties");
    append_property(m, "Description", "s", s.description.c_str());
    // Only default.target exists in the private manager: no basic.target to order after.
    append_property(m, "DefaultDependencies", "b", 0);
    append_property(m, "Type", "s", s.type.c_str());
    append_property(m, "NotifyAccess", "s", "main");
    append_property(m, "Restart", "s", std::string(to_string(s.restart)).c_str());
    append_property(m, "RestartUSec", "t", usec(s.restart_sec));
    append_property(m, "TimeoutStartUSec", "t", usec(s.timeout_start));
    append_property(m, "TimeoutStopUSec", "t", usec(s.timeout_stop));
    if (s.watchdog.count() > 0) append_property(m, "WatchdogUSec", "t", usec(s.watchdog));
    const uint64_t core_limit = s.dump_core ? UINT64_MAX : 0; // UINT64_MAX: RLIM_INFINITY
    append_property(m, "LimitCORE", "t", core_limit);
    append_property(m, "LimitCORESoft", "t", core_limit);
    check(sd_bus_message_open_container(m, 'r', "sv"), "ExecStart");
    check(sd_bus_message_append(m, "s", "ExecStart"), "ExecStart");
    append_argv(m, s.exec_start);
    check(sd_bus_message_close_container(m), "ExecStart");
    for (const auto& [name, argv] : {std::pair{"ExecReload", &s.exec_reload}, std::pair{"ExecStop", &s.exec_stop}}) {
        if (argv->empty()) continue;
        check(sd_bus_message_open_container(m, 'r', "sv"), name);
        check(sd_bus_message_append(m, "s", name), name);
        append_argv(m, *argv);
        check(sd_bus_message_close_container(m), name);
    }
    if (!s.pid_file.empty()) append_property(m, "PIDFile", "s", s.pid_file.c_str());
    if (s.kill_signal != 0) append_property(m, "KillSignal", "i", static_cast<int32_t>(s.kill_signal));
    if (!s.kill_mode.empty()) append_property(m, "KillMode", "s", s.kill_mode.c_str());
    if (s.start_limit_interval)
        append_property(m, "StartLimitIntervalUSec", "t", usec(*s.start_limit_interval));
    if (s.start_limit_burst) append_property(m, "StartLimitBurst", "u", static_cast<uint32_t>(*s.start_limit_burst));
    append_strings(m, "After", s.after);
    append_strings(m, "Environment", s.environment);
    append_status_set(m, "SuccessExitStatus", s.rules.success_exit_status);
    append_status_set(m, "RestartPreventExitStatus", s.rules.restart_prevent_exit_status);
    append_status_set(m, "RestartForceExitStatus", s.rules.restart_force_exit_status);
    check(sd_bus_message_close_container(m), "properties");
    check(sd_bus_message_append(m, "a(sa(sv))", 0), "aux units");
}

} // namespace

void SystemdBus::start(const ServiceSpec& s, Done done) {
    call("StartTransientUnit", s.name, Reply::job, std::move(done), [&](sd_bus_message* m) {
        append_transient_service(m, s);
    });
}

void SystemdBus::stop(const std::string& unit, Done done) {
    call("StopUnit", unit, Reply::job, std::move(done),
         [&](sd_bus_message* m) { check(sd_bus_message_append(m, "ss", unit.c_str(), "replace"), "StopUnit"); });
}

void SystemdBus::reload(const std::string& unit, Done done) {
    call("ReloadUnit", unit, Reply::job, std::move(done),
         [&](sd_bus_message* m) { check(sd_bus_message_append(m, "ss", unit.c_str(), "replace"), "ReloadUnit"); });
}

void SystemdBus::kill(const std::string& unit, int signal, Done done) {
    call("KillUnit", unit, Reply::plain, std::move(done), [&](sd_bus_message* m) {
        check(sd_bus_message_append(m, "ssi", unit.c_str(), "main", signal), "KillUnit");
    });
}

void SystemdBus::reset_failed(const std::string& unit, Done done) {
    call("ResetFailedUnit", unit, Reply::plain, std::move(done),
         [&](sd_bus_message* m) { check(sd_bus_message_append(m, "s", unit.c_str()), "ResetFailedUnit"); });
}

// A call that cannot be built or sent still answers: its error reaches `done`
// from the next wait(), as a reply would, so a caller counting replies is never
// left waiting for one that will not come, and callbacks run only from wait().
void SystemdBus::call(const char* method, const std::string& unit, Reply reply, Done done,
                      const std::function<void(sd_bus_message*)>& append_arguments) {
    auto pending = std::make_unique<Pending<Done>>(Pending<Done>{std::move(done)});
    sd_bus_message* m = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &m, kDestination, kManagerPath, kManager, method);
    std::unique_ptr<sd_bus_message, decltype(&sd_bus_message_unref)> owned(m, sd_bus_message_unref);
    std::string error;
    if (r < 0) error = errno_text(r);
    else {
        try {
            append_arguments(m);
            r = sd_bus_call_async(bus_, nullptr, m, reply == Reply::job ? on_job_reply : on_plain_reply,
                                  pending.get(), 0);
            if (r < 0) error = "not sent: " + errno_text(r);
        } catch (const SupervisorError& e) {
            error = e.what();
        }
    }
    if (error.empty()) {
        pending.release(); // the reply callback owns it now
        return;
    }
    error = std::string(method) + " " + unit + ": " + error;
    if (auto log = spdlog::get("systemd")) log->debug("{}", error);
    undelivered_.push_back([done = std::move(pending->done), error] { done(error, ""); });
}

void SystemdBus::snapshot(const std::string& unit_path, SnapshotDone done) {
    auto finished = [unit_path, done = std::move(done)](const std::string& error,
                                                       const ServiceState& live) {
        if (error.empty())
            if (auto log = spdlog::get("systemd"))
                log->trace("{} GetAll: {}, LoadState={}", unit_path, live.state(), live.load_state);
        done(error, live);
    };
    auto* call = new SnapshotCall{std::move(finished), &live_[unit_path], {}, 0, false};
    int sent = 0;
    for (const char* interface : {"org.freedesktop.systemd1.Unit", "org.freedesktop.systemd1.Service"}) {
        int r = sd_bus_call_method_async(bus_, nullptr, kDestination, unit_path.c_str(),
                                         "org.freedesktop.DBus.Properties", "GetAll",
                                         on_properties_reply, call, "s", interface);
        if (r >= 0) {
            ++sent;
            continue;
        }
        // An unsent half counts as answered, with its error: the half that was
        // sent then completes the call; if none was, the next wait() does.
        if (call->error.empty()) call->error = "GetAll " + unit_path + " " + interface + ": not sent: " + errno_text(r);
        ++call->replies;
    }
    if (sent > 0) return;
    undelivered_.push_back([owned = std::shared_ptr<SnapshotCall>(call)] {
        owned->done(owned->error, *owned->live);
    });
}

std::string SystemdBus::unit_path(const std::string& unit_name) {
    char* path = nullptr;
    check(sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit_name.c_str(), &path),
          "encode unit path");
    std::string result = path;
    free(path);
    return result;
}

bool SystemdBus::process_all() {
    bool any = !undelivered_.empty();
    // Failures to send, answered as their replies would be: here, from wait().
    while (!undelivered_.empty()) {
        auto deliver = std::move(undelivered_.front());
        undelivered_.erase(undelivered_.begin());
        guarded(deliver);
        if (callback_failure) std::rethrow_exception(std::exchange(callback_failure, nullptr));
    }
    for (;;) {
        int r = sd_bus_process(bus_, nullptr);
        if (callback_failure) std::rethrow_exception(std::exchange(callback_failure, nullptr));
        if (r < 0) throw SupervisorError("the private systemd's bus: " + errno_text(r));
        if (r == 0) return any;
        any = true;
    }
}

bool SystemdBus::wait(std::chrono::steady_clock::time_point deadline, int extra_fd) {
    // What is already queued may be exactly what the caller waits for: hand it
    // over before sleeping, or a reply read along with earlier messages would
    // only be noticed at the deadline.
    if (process_all()) return false;
    int events = sd_bus_get_events(bus_);
    if (events < 0) throw SupervisorError("the private systemd's bus: " + errno_text(events));
    uint64_t bus_timeout_us = UINT64_MAX;
    sd_bus_get_timeout(bus_, &bus_timeout_us);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    int timeout = static_cast<int>(std::max<long long>(0, left));
    if (bus_timeout_us != UINT64_MAX) {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long long now_us = ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
        long long bus_ms = (static_cast<long long>(bus_timeout_us) - now_us + 999) / 1000;
        timeout = static_cast<int>(std::max(0LL, std::min<long long>(timeout, bus_ms)));
    }
    pollfd fds[2] = {{sd_bus_get_fd(bus_), static_cast<short>(events), 0}, {extra_fd, POLLIN, 0}};
    int n = poll(fds, extra_fd >= 0 ? 2 : 1, timeout);
    if (n < 0 && errno != EINTR) throw SupervisorError(std::string("poll: ") + std::strerror(errno));
    process_all();
    return n > 0 && extra_fd >= 0 && (fds[1].revents & POLLIN);
}

} // namespace crashloop
