// The one translation of a unit into a ServiceSpec (service_spec_of), checked
// against systemd itself. Each unit is given to the built-in private systemd
// twice: as a file in its unit folder, which systemd reads with its own parser
// ("filed"), and as the transient service crashloop starts from the spec
// ("sent"). For every key of carried_keys(), what systemd holds for the sent
// unit must be what the spec asked for, and what it holds for the filed one.
// The sent unit runs /bin/sleep infinity: the subject is the settings, and a
// unit whose own program ends (or is absent) could be collected before the read.
#include <gtest/gtest.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "private_systemd.hpp"
#include "restart_table.hpp"
#include "service_settings.hpp"
#include "service_spec.hpp"
#include "systemd_bus.hpp"
#include "unit_file.hpp"

using namespace crashloop;
namespace fs = std::filesystem;

namespace {

struct Case {
    std::string id;                         // the test's name: [A-Za-z0-9_]
    std::string scenario;                   // a unit in scenarios/units/, or empty
    std::vector<std::string> dropins;       // of the scenario unit, under scenarios/units/
    std::string text;                       // the unit written for the test
    std::string env_file;                   // written to @ENVFILE@, if any
    std::vector<std::string> from_env_file; // what systemd would read from it
};

void PrintTo(const Case& c, std::ostream* os) {
    *os << c.id;
}

std::vector<Case> cases() {
    return {
        {"apache2_service", "apache2.service", {}, "", "", {}},
        {"httpd_service", "httpd.service", {}, "", "", {}},
        {"httpd_service_with_override",
         "httpd.service",
         {"httpd.service.d/override.conf"},
         "",
         "",
         {}},
        {"defaults", "", {}, "[Service]\nExecStart=/bin/sleep 1\n", "", {}},
        {"timeouts_infinity_and_0",
         "",
         {},
         "[Service]\nExecStart=/bin/sleep 1\nTimeoutStartSec=infinity\nTimeoutStopSec=0\n",
         "",
         {}},
        {"timeout_sec_then_stop",
         "",
         {},
         "[Service]\nExecStart=/bin/sleep 1\nTimeoutSec=45s\nTimeoutStopSec=5s\n",
         "",
         {}},
        {"timeout_stop_then_sec",
         "",
         {},
         "[Service]\nExecStart=/bin/sleep 1\nTimeoutStopSec=7s\nTimeoutSec=1min 20s\n",
         "",
         {}},
        {"exit_status_rules",
         "",
         {},
         "[Service]\nExecStart=/bin/sleep 1\nRestart=on-failure\n"
         "SuccessExitStatus=42 SIGUSR2\nRestartPreventExitStatus=1 SIGKILL\n"
         "RestartForceExitStatus=3 SIGTERM\n",
         "",
         {}},
        {"exit_status_reset",
         "",
         {},
         "[Service]\nExecStart=/bin/sleep 1\nSuccessExitStatus=1 2\nSuccessExitStatus=\n"
         "SuccessExitStatus=7\nRestartForceExitStatus=SIGHUP\nRestartForceExitStatus=9\n",
         "",
         {}},
        {"environment_and_file",
         "",
         {},
         "[Service]\nExecStart=/bin/sleep 1\nEnvironment=\"A=b c\" D=e\nEnvironment=LANG=C\n"
         "EnvironmentFile=-/nonexistent/crashloop.env\nEnvironmentFile=@ENVFILE@\n",
         "# a comment\nFROM_FILE=yes\nQUOTED=\"x y\"\n",
         {"FROM_FILE=yes", "QUOTED=x y"}},
        {"kill_winch_mixed",
         "",
         {},
         "[Service]\nExecStart=/bin/sleep 1\nKillSignal=SIGWINCH\nKillMode=mixed\n",
         "",
         {}},
        {"kill_int_process",
         "",
         {},
         "[Service]\nExecStart=/bin/sleep 1\nKillSignal=SIGINT\nKillMode=process\n",
         "",
         {}},
        {"start_limit",
         "",
         {},
         "[Unit]\nStartLimitIntervalSec=30s\nStartLimitBurst=3\n[Service]\nExecStart=/bin/sleep "
         "1\n",
         "",
         {}},
        {"start_limit_off",
         "",
         {},
         "[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sleep 1\n",
         "",
         {}},
        {"start_limit_legacy_in_service",
         "",
         {},
         "[Service]\nExecStart=/bin/sleep 1\nStartLimitInterval=20s\nStartLimitBurst=2\n",
         "",
         {}},
        {"notify_watchdog_always",
         "",
         {},
         "[Service]\nType=notify\nExecStart=/bin/sleep 1\nWatchdogSec=3s\nRestart=always\n"
         "RestartSec=250ms\n",
         "",
         {}},
        {"forking_pidfile_reload_stop",
         "",
         {},
         "[Service]\nType=forking\nPIDFile=/run/crashloop-readback.pid\nExecStart=/bin/sleep 1\n"
         "ExecReload=/bin/kill -HUP $MAINPID\nExecReload=/bin/true\n"
         "ExecStop=/bin/sh -c \"echo 'a b'; exit 0\"\nTimeoutStartSec=2min\n",
         "",
         {}},
        {"oneshot",
         "",
         {},
         "[Service]\nType=oneshot\nExecStart=/bin/true\nRestart=on-failure\nRestartSec=infinity\n",
         "",
         {}},
    };
}

// ---- what systemd holds, as text a failure message can show ----

std::string usec_text(uint64_t us) {
    return us == UINT64_MAX ? "infinity" : std::to_string(us) + "us";
}

std::string usec_text(std::chrono::microseconds span) {
    return span == infinite_time ? "infinity" : std::to_string(span.count()) + "us";
}

std::string status_set_text(const ExitStatusSet& set) {
    std::string out = "codes:";
    for (int code : set.codes)
        out += " " + std::to_string(code);
    out += "; signals:";
    for (int signo : set.signals)
        out += " " + std::to_string(signo);
    return out;
}

std::string argv_text(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& word : argv)
        out += (out.empty() ? "[" : ", [") + word + "]";
    return out;
}

// The environment as systemd applies it: a later NAME wins.
std::map<std::string, std::string> env_map(const std::vector<std::string>& assignments) {
    std::map<std::string, std::string> out;
    for (const auto& a : assignments)
        out[a.substr(0, a.find('='))] = a.substr(a.find('=') + 1);
    return out;
}

std::string env_text(const std::vector<std::string>& assignments) {
    std::string out;
    for (const auto& [name, value] : env_map(assignments))
        out += (out.empty() ? "" : " ") + name + "=" + value;
    return out;
}

class Reader {
  public:
    explicit Reader(const std::string& address) {
        check(sd_bus_new(&bus_), "sd_bus_new");
        check(sd_bus_set_address(bus_, address.c_str()), "sd_bus_set_address");
        check(sd_bus_set_bus_client(bus_, 0), "sd_bus_set_bus_client");
        check(sd_bus_start(bus_), "sd_bus_start");
    }
    ~Reader() { sd_bus_flush_close_unref(bus_); }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    // Manager.LoadUnit: the unit file read by systemd's own parser.
    std::string load(const std::string& unit) {
        sd_bus_message* reply = nullptr;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(bus_, kDestination, "/org/freedesktop/systemd1",
                                   "org.freedesktop.systemd1.Manager", "LoadUnit", &error, &reply,
                                   "s", unit.c_str());
        std::string message = error.message ? error.message : "";
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        if (r < 0) throw std::runtime_error("LoadUnit " + unit + ": " + message);
        return string(unit, kUnit, "LoadState") + " " + string(unit, kUnit, "LoadError", "(ss)");
    }

    std::string string(const std::string& unit, const char* interface, const char* name,
                       const char* type = "s") {
        Message m = get(unit, interface, name, type);
        if (std::string_view(type) == "(ss)") {
            const char *a = nullptr, *b = nullptr;
            check(sd_bus_message_read(m.get(), "(ss)", &a, &b), name);
            return std::string(a) + (b && *b ? std::string(": ") + b : "");
        }
        const char* value = nullptr;
        check(sd_bus_message_read(m.get(), "s", &value), name);
        return value;
    }
    uint64_t u64(const std::string& unit, const char* interface, const char* name) {
        Message m = get(unit, interface, name, "t");
        uint64_t value = 0;
        check(sd_bus_message_read(m.get(), "t", &value), name);
        return value;
    }
    uint32_t u32(const std::string& unit, const char* interface, const char* name) {
        Message m = get(unit, interface, name, "u");
        uint32_t value = 0;
        check(sd_bus_message_read(m.get(), "u", &value), name);
        return value;
    }
    int32_t i32(const std::string& unit, const char* interface, const char* name) {
        Message m = get(unit, interface, name, "i");
        int32_t value = 0;
        check(sd_bus_message_read(m.get(), "i", &value), name);
        return value;
    }
    std::vector<std::string> strings(const std::string& unit, const char* name) {
        Message m = get(unit, kService, name, "as");
        char** values = nullptr;
        check(sd_bus_message_read_strv(m.get(), &values), name);
        std::vector<std::string> out;
        for (char** v = values; v && *v; ++v) {
            out.emplace_back(*v);
            free(*v);
        }
        free(values);
        return out;
    }
    ExitStatusSet status_set(const std::string& unit, const char* name) {
        Message m = get(unit, kService, name, "(aiai)");
        ExitStatusSet set;
        check(sd_bus_message_enter_container(m.get(), 'r', "aiai"), name);
        for (auto* list : {&set.codes, &set.signals}) {
            const void* data = nullptr;
            size_t size = 0;
            check(sd_bus_message_read_array(m.get(), 'i', &data, &size), name);
            const auto* ints = static_cast<const int32_t*>(data);
            list->insert(ints, ints + size / sizeof(int32_t));
        }
        return set;
    }
    // ExecStart= & co.: a(sasbttttuii), one entry per command; each as its argv.
    std::vector<std::vector<std::string>> commands(const std::string& unit, const char* name) {
        Message m = get(unit, kService, name, "a(sasbttttuii)");
        std::vector<std::vector<std::string>> out;
        check(sd_bus_message_enter_container(m.get(), 'a', "(sasbttttuii)"), name);
        while (sd_bus_message_enter_container(m.get(), 'r', "sasbttttuii") > 0) {
            const char* path = nullptr;
            check(sd_bus_message_read(m.get(), "s", &path), name);
            char** argv = nullptr;
            check(sd_bus_message_read_strv(m.get(), &argv), name);
            std::vector<std::string> command;
            for (char** a = argv; a && *a; ++a) {
                command.emplace_back(*a);
                free(*a);
            }
            free(argv);
            // The program systemd runs is the path; argv[0] is only what it is told.
            if (!command.empty()) command.front() = path;
            check(sd_bus_message_skip(m.get(), "bttttuii"), name);
            check(sd_bus_message_exit_container(m.get()), name);
            out.push_back(std::move(command));
        }
        return out;
    }

    static constexpr const char* kUnit = "org.freedesktop.systemd1.Unit";
    static constexpr const char* kService = "org.freedesktop.systemd1.Service";

  private:
    static constexpr const char* kDestination = "org.freedesktop.systemd1";
    using Message = std::unique_ptr<sd_bus_message, decltype(&sd_bus_message_unref)>;

    static void check(int r, const std::string& what) {
        if (r < 0) throw std::runtime_error(what + ": " + std::strerror(-r));
    }
    Message get(const std::string& unit, const char* interface, const char* name,
                const char* type) {
        sd_bus_message* reply = nullptr;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = sd_bus_get_property(bus_, kDestination, SystemdBus::unit_path(unit).c_str(),
                                    interface, name, &error, &reply, type);
        std::string message = error.message ? error.message : "";
        sd_bus_error_free(&error);
        if (r < 0) throw std::runtime_error("Get " + unit + " " + name + ": " + message);
        return Message(reply, sd_bus_message_unref);
    }
    sd_bus* bus_ = nullptr;
};

// Every property of carried_keys() as systemd holds it for one unit, as text.
std::map<std::string, std::string> held(Reader& read, const std::string& unit) {
    std::map<std::string, std::string> out;
    const char* service = Reader::kService;
    out["Type"] = read.string(unit, service, "Type");
    out["Restart"] = read.string(unit, service, "Restart");
    for (const char* name : {"RestartUSec", "TimeoutStartUSec", "TimeoutStopUSec", "WatchdogUSec"})
        out[name] = usec_text(read.u64(unit, service, name));
    out["StartLimitIntervalUSec"] =
        usec_text(read.u64(unit, Reader::kUnit, "StartLimitIntervalUSec"));
    out["StartLimitBurst"] = std::to_string(read.u32(unit, Reader::kUnit, "StartLimitBurst"));
    out["KillSignal"] = std::to_string(read.i32(unit, service, "KillSignal"));
    out["KillMode"] = read.string(unit, service, "KillMode");
    for (const char* name :
         {"SuccessExitStatus", "RestartPreventExitStatus", "RestartForceExitStatus"})
        out[name] = status_set_text(read.status_set(unit, name));
    out["Environment"] = env_text(read.strings(unit, "Environment"));
    for (const char* name : {"ExecStart", "ExecReload", "ExecStop"}) {
        const auto commands = read.commands(unit, name);
        // crashloop carries the first command of each (check --real says so).
        out[name] = commands.empty() ? "" : argv_text(commands.front());
    }
    out["PIDFile"] = read.string(unit, service, "PIDFile");
    return out;
}

// What the spec asks systemd to hold, in held()'s words; a key the spec leaves
// to the manager's default (StartLimit* unset) is absent.
std::map<std::string, std::string> asked(const ServiceSpec& s) {
    std::map<std::string, std::string> out;
    out["Type"] = s.type;
    out["Restart"] = std::string(to_string(s.restart));
    out["RestartUSec"] = usec_text(s.restart_sec);
    out["TimeoutStartUSec"] = usec_text(s.timeout_start);
    out["TimeoutStopUSec"] = usec_text(s.timeout_stop);
    out["WatchdogUSec"] = usec_text(s.watchdog);
    if (s.start_limit_interval) out["StartLimitIntervalUSec"] = usec_text(*s.start_limit_interval);
    if (s.start_limit_burst) out["StartLimitBurst"] = std::to_string(*s.start_limit_burst);
    out["KillSignal"] = std::to_string(s.kill_signal);
    out["KillMode"] = s.kill_mode;
    out["SuccessExitStatus"] = status_set_text(s.rules.success_exit_status);
    out["RestartPreventExitStatus"] = status_set_text(s.rules.restart_prevent_exit_status);
    out["RestartForceExitStatus"] = status_set_text(s.rules.restart_force_exit_status);
    out["Environment"] = env_text(s.environment);
    out["ExecStart"] = argv_text(s.exec_start);
    out["ExecReload"] = argv_text(s.exec_reload);
    out["ExecStop"] = argv_text(s.exec_stop);
    out["PIDFile"] = s.pid_file;
    return out;
}

// Every D-Bus property the table names, one at a time ("TimeoutStartUSec TimeoutStopUSec").
std::set<std::string> table_properties() {
    std::set<std::string> out;
    for (const CarriedKey& row : carried_keys()) {
        std::string_view rest = row.property;
        while (!rest.empty()) {
            const auto space = rest.find(' ');
            out.emplace(rest.substr(0, space));
            rest = space == std::string_view::npos ? "" : rest.substr(space + 1);
        }
    }
    return out;
}

class Readback : public ::testing::TestWithParam<Case> {};

TEST_P(Readback, systemd_holds_what_the_spec_asked) {
    const Case& c = GetParam();
    PrivateSystemd systemd({libexec_dir() / "crashloop-sandbox"});
    const fs::path units = systemd.from_host("/run/crashloop/units");
    const std::string filed = "crashloop-filed-" + c.id + ".service";
    const std::string sent = "crashloop-sent-" + c.id + ".service";

    // The unit (and drop-ins) in the manager's own unit folder, under the filed name.
    fs::path unit_path = units / filed;
    std::vector<fs::path> dropins;
    if (!c.scenario.empty()) {
        fs::copy_file(scenarios_dir() / "units" / c.scenario, unit_path);
        for (const auto& dropin : c.dropins) {
            const fs::path to = units / (filed + ".d") / fs::path(dropin).filename();
            fs::create_directories(to.parent_path());
            fs::copy_file(scenarios_dir() / "units" / dropin, to);
            dropins.push_back(to);
        }
    } else {
        std::string text = c.text;
        if (!c.env_file.empty()) {
            const fs::path env = units / (c.id + ".env");
            std::ofstream(env) << c.env_file;
            text.replace(text.find("@ENVFILE@"), 9, env.string());
        }
        std::ofstream(unit_path) << text;
    }

    const ServiceSettings settings = service_settings(UnitFile::load(unit_path, dropins));
    ServiceSpec spec = service_spec_of(settings);
    add_environment_files(spec, settings);
    const std::vector<std::string> unit_exec_start = spec.exec_start;
    spec.name = sent;
    spec.description = "crashloop readback " + c.id;
    spec.exec_start = {"/bin/sleep", "infinity"};

    // The sent unit: started, and read once systemd has begun to start it. Until its start job
    // runs (service_start()), WatchdogUSec= reads infinity, and on a busy manager the job runs
    // well after StartTransientUnit's reply. (A notify or forking unit running `sleep` never
    // finishes starting; being under way is enough.)
    SystemdBus bus(systemd.bus_address());
    bool under_way = false;
    const std::string sent_path = SystemdBus::unit_path(sent);
    bus.watch(
        [&](const std::string& path, const ServiceState& live) {
            if (path == sent_path && !live.active_state.empty() && live.active_state != "inactive")
                under_way = true;
        },
        [](const std::string&, const std::string&, const std::string&) {});
    std::optional<std::string> refused;
    bus.start(spec, [&](const std::string& error, const std::string&) { refused = error; });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while ((!refused || (refused->empty() && !under_way)) &&
           std::chrono::steady_clock::now() < deadline)
        bus.wait(deadline, -1);
    ASSERT_TRUE(refused.has_value()) << "no reply to StartTransientUnit " << sent;
    ASSERT_EQ(*refused, "") << "StartTransientUnit " << sent;
    ASSERT_TRUE(under_way) << sent << " was not being started 20 s after StartTransientUnit";

    Reader read(systemd.bus_address());
    ASSERT_EQ(read.load(filed), "loaded ") << filed << ": systemd could not load the unit file";
    const auto sent_holds = held(read, sent);
    const auto filed_holds = held(read, filed);
    const auto wanted = asked(spec);

    // Every property the table names is compared (and nothing the table does not name).
    std::set<std::string> compared;
    for (const auto& [property, value] : sent_holds)
        compared.insert(property);
    EXPECT_EQ(compared, table_properties())
        << "the readback and carried_keys() name different properties";

    for (const auto& [property, holds] : sent_holds) {
        SCOPED_TRACE(c.id + " " + property);
        // What was asked is what systemd holds for the sent unit…
        if (auto it = wanted.find(property); it != wanted.end()) {
            EXPECT_EQ(holds, it->second) << "asked " << it->second << ", systemd holds " << holds;
        }
        // …and what systemd makes of the unit file itself.
        std::string from_file = filed_holds.at(property);
        std::string sent_value = holds;
        if (property == "WatchdogUSec") {
            // systemd shows a unit's watchdog only once it has started
            // (watchdog_original_usec is infinity until then): the filed unit is never started.
            continue;
        } else if (property == "ExecStart") {
            sent_value = argv_text(unit_exec_start); // the sent unit runs sleep
        } else if (property == "Environment") {
            std::vector<std::string> expected = read.strings(filed, "Environment");
            expected.insert(expected.end(), c.from_env_file.begin(), c.from_env_file.end());
            from_file = env_text(expected); // systemd reads EnvironmentFile= only at start
        }
        EXPECT_EQ(sent_value, from_file) << "from the unit file systemd holds " << from_file
                                         << ", crashloop sent " << sent_value;
    }
}

INSTANTIATE_TEST_SUITE_P(Unit, Readback, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.id; });

} // namespace
