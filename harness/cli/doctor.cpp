// `crashloop doctor`: what a run needs, each checked on this machine and printed as ok or
// missing, with what would fix it. Exit 0 when every required part is there, 1 otherwise
// (the supervisors other than systemd are optional: each only enables its driver).
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "common.hpp"
#include "private_systemd.hpp" // libexec_dir(), scenarios_dir()

namespace crashloop::cli {

namespace {

struct Finding {
    bool ok;
    bool required;
    std::string what, detail, fix;
};

std::string first_line_of(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// A program on $PATH (or an absolute path that is executable), "" when there is none.
std::string find_program(const std::string& name) {
    if (name.front() == '/') return access(name.c_str(), X_OK) == 0 ? name : "";
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':'))
        if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
    return "";
}

bool is_dir(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Where the keeper makes its cgroups (sandbox_main.cpp): our own cgroup in the unified
// hierarchy and in systemd's named one, wherever each is mounted (cgroup v2 alone, or a
// hybrid machine's /sys/fs/cgroup/unified and /sys/fs/cgroup/systemd).
std::vector<std::string> keeper_cgroups() {
    std::ifstream in("/proc/self/cgroup");
    std::vector<std::string> dirs;
    std::string line;
    while (std::getline(in, line)) {
        const size_t first = line.find(':'), second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        const std::string controllers = line.substr(first + 1, second - first - 1);
        const std::string path = line.substr(second + 1);
        std::string mount;
        if (controllers.empty())
            mount = is_dir("/sys/fs/cgroup/unified")                       ? "/sys/fs/cgroup/unified"
                    : access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "/sys/fs/cgroup"
                                                                             : "";
        else if (controllers == "name=systemd" && is_dir("/sys/fs/cgroup/systemd"))
            mount = "/sys/fs/cgroup/systemd";
        if (!mount.empty()) dirs.push_back(mount + (path == "/" ? "" : path));
    }
    return dirs;
}

Finding cgroup_finding() {
    const auto dirs = keeper_cgroups();
    if (dirs.empty())
        return {false, true, "cgroups", "neither a cgroup v2 hierarchy nor systemd's is mounted",
                "boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1), or run in a container "
                "that mounts /sys/fs/cgroup"};
    std::string where;
    for (const auto& dir : dirs) {
        const std::string probe = dir + "/crashloop-doctor-" + std::to_string(getpid());
        if (mkdir(probe.c_str(), 0755) != 0)
            return {false, true, "cgroups", "cannot make a cgroup under " + dir + ": " + strerror(errno),
                    "run as root, in a cgroup whose subtree is writable (a container needs a "
                    "writable /sys/fs/cgroup)"};
        rmdir(probe.c_str());
        where += (where.empty() ? "" : ", ") + dir;
    }
    return {true, true, "cgroups", "a cgroup can be made under " + where, ""};
}

Finding mount_namespace_finding() {
    const pid_t child = fork();
    if (child == 0) _exit(unshare(CLONE_NEWNS) == 0 ? 0 : 1);
    int status = 0;
    waitpid(child, &status, 0);
    if (child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return {true, true, "mount namespaces", "a private mount namespace can be made", ""};
    return {false, true, "mount namespaces", "unshare(CLONE_NEWNS) refused",
            "run as root (a container needs CAP_SYS_ADMIN)"};
}

Finding systemd_finding() {
    const std::string systemd = "/lib/systemd/systemd";
    if (access(systemd.c_str(), X_OK) != 0)
        return {false, true, "systemd", systemd + " is not there", "apt-get install systemd"};
    std::string version;
    if (FILE* out = popen((systemd + " --version 2>/dev/null").c_str(), "r")) {
        char line[256] = {};
        if (std::fgets(line, sizeof line, out)) version = line;
        pclose(out);
    }
    while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
    return {true, true, "systemd", systemd + ": " + (version.empty() ? "version unknown" : version), ""};
}

class DoctorCommand : public Command {
  public:
    explicit DoctorCommand(CLI::App& app) {
        app_ = app.add_subcommand(
            "doctor", "Check what a run needs on this machine: each part ok or missing, with the fix");
    }

    int run(const Globals& globals) override {
        std::vector<Finding> found;
        found.push_back(geteuid() == 0
                            ? Finding{true, true, "root", "running as root", ""}
                            : Finding{false, true, "root", "running as uid " + std::to_string(geteuid()),
                                      "run crashloop as root or with sudo"});
        found.push_back(cgroup_finding());
        found.push_back(mount_namespace_finding());
        found.push_back(systemd_finding());
        const auto libexec = globals.libexec.empty() ? libexec_dir() : std::filesystem::path(globals.libexec);
        const bool parts = std::filesystem::exists(libexec / "fake-httpd") &&
                           std::filesystem::exists(libexec / "crashloop-sandbox");
        found.push_back({parts, true, "fixture and keeper", libexec.string() + (parts ? "" : ": fake-httpd or crashloop-sandbox missing"),
                         "build crashloop (scripts/crashloop builds it), or pass --libexec"});
        const auto scenarios = globals.scenarios.empty() ? scenarios_dir() : std::filesystem::path(globals.scenarios);
        const bool table = std::filesystem::exists(scenarios / "table.toml");
        found.push_back({table, true, "scenarios", scenarios.string() + (table ? "" : ": no table.toml"),
                         "pass --scenarios DIR"});
        // The drivers beyond the built-in systemd: each optional.
        const struct {
            const char* what;
            const char* program;
            const char* package;
        } optional[] = {{"supervisord", "supervisord", "supervisor"},
                        {"runit", "runsv", "runit"},
                        {"s6", "s6-supervise", "s6"},
                        {"daemontools", "supervise", "daemontools"},
                        {"supervise-daemon", "supervise-daemon", "openrc"},
                        {"apache2 (check --real, the story)", "/usr/sbin/apache2", "apache2"}};
        for (const auto& o : optional) {
            const std::string at = find_program(o.program);
            found.push_back({!at.empty(), false, o.what, at.empty() ? std::string(o.program) + " not installed" : at,
                             std::string("apt-get install ") + o.package});
        }
        const std::string pattern = first_line_of("/proc/sys/kernel/core_pattern");
        found.push_back({true, false, "core_pattern",
                         pattern.rfind('|', 0) == 0
                             ? "cores are piped to " + pattern.substr(1) + " (systemd-coredump: coredumpctl; apport: /var/crash)"
                             : "cores land at " + pattern + " (relative to the dying process's directory)",
                         ""});

        std::string out;
        bool ready = true;
        for (const auto& f : found) {
            const char* word = f.ok ? "ok     " : f.required ? "MISSING" : "absent ";
            out += std::string(word) + "  " + f.what + ": " + f.detail;
            if (!f.ok && !f.fix.empty()) out += " — " + f.fix;
            out += "\n";
            if (!f.ok && f.required) ready = false;
        }
        out += ready ? "crashloop can run here.\n" : "crashloop cannot run here until what is MISSING is fixed.\n";
        write_report(out, "");
        return ready ? 0 : 1;
    }
};

} // namespace

std::unique_ptr<Command> doctor_command(CLI::App& app) { return std::make_unique<DoctorCommand>(app); }

} // namespace crashloop::cli
