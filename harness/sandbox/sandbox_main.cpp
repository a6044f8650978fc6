// crashloop-sandbox: the keeper of one private systemd user manager.
//
// systemd 252 runs as `systemd --user` without systemd as PID 1 when it gets a
// private /run/systemd (with an empty system/ inside) and its own
// XDG_RUNTIME_DIR. This program gives it exactly that and nothing of the host:
//   - a cgroup of its own in every hierarchy, nested under ours, because a user
//     manager whose cgroup is the root migrates *every* process of that cgroup
//     into its init.scope (seen on this machine kind: the host's PID 1 moved);
//   - a private mount namespace with a tmpfs on /run, so every file it makes
//     (runtime dir, unit path, event logs) vanishes with the namespace;
//   - a teardown that kills everything left in its cgroups and removes them.
// The harness talks to it over a pipe: it prints "ready" once the manager has
// sent READY=1, and tears everything down on EOF, SIGTERM, or when the harness
// dies (PR_SET_PDEATHSIG), so not even a SIGKILLed harness leaves anything.
// A keeper killed outright leaves empty cgroups behind; the next run removes
// those (cgroups named after keepers that are gone).
//
// Two more modes serve supervisors other than the built-in systemd (jail.hpp):
//   --jail               the same cgroup and teardown, no systemd and no
//                        namespace; also a private temp dir, removed at teardown.
//                        Prints "ready <cgroup name> <dir>".
//   --enter NAME -- CMD  moves itself into that keeper's cgroup, then execs CMD:
//                        whatever CMD starts, daemons included, dies at teardown.
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr const char* kRun = "/run";
constexpr const char* kBase = "/run/crashloop";
constexpr const char* kNotifySocket = "/run/crashloop/keeper.notify";
constexpr const char* kCgroupPrefix = "crashloop-";
constexpr const char* kJailDirPrefix = "/tmp/crashloop-jail-";

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "crashloop-sandbox: %s\n", what.c_str());
    std::fflush(stderr);
    std::exit(1);
}

void check(bool ok, const std::string& what) {
    if (!ok) die(what + ": " + std::strerror(errno));
}

long long now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out.flush()) die("cannot write " + path);
}

bool write_pid(const std::string& procs_file, pid_t pid) {
    int fd = open(procs_file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    std::string text = std::to_string(pid);
    bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    return ok;
}

// ---- cgroups ---------------------------------------------------------------

struct Hierarchy {
    std::string mount;  // /sys/fs/cgroup/systemd
    std::string parent; // our cgroup in it, as a directory
    std::string own;    // parent/crashloop-<pid>, once made
    bool required = false;
};

// Where a line of /proc/self/cgroup is mounted (Debian's usual layout).
std::string mount_dir(const std::string& controllers) {
    auto is_dir = [](const std::string& path) {
        struct stat st {};
        return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    };
    if (controllers.empty()) {
        if (is_dir("/sys/fs/cgroup/unified")) return "/sys/fs/cgroup/unified";
        if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) return "/sys/fs/cgroup";
        return "";
    }
    std::string name = controllers.rfind("name=", 0) == 0 ? controllers.substr(5) : controllers;
    if (is_dir("/sys/fs/cgroup/" + name)) return "/sys/fs/cgroup/" + name;
    std::string first = name.substr(0, name.find(','));
    if (is_dir("/sys/fs/cgroup/" + first)) return "/sys/fs/cgroup/" + first;
    return "";
}

std::vector<Hierarchy> our_hierarchies() {
    std::ifstream in("/proc/self/cgroup");
    std::vector<Hierarchy> result;
    std::string line;
    while (std::getline(in, line)) {
        auto first = line.find(':');
        auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        std::string controllers = line.substr(first + 1, second - first - 1);
        std::string path = line.substr(second + 1);
        // cpuset needs cpus/mems copied into every new group; systemd --user
        // does not use it, so leave it alone.
        if (controllers == "cpuset") continue;
        std::string mount = mount_dir(controllers);
        if (mount.empty()) continue;
        std::string parent = mount + (path == "/" ? "" : path);
        if (access(parent.c_str(), W_OK) != 0) continue;
        result.push_back({mount, parent, "", controllers == "name=systemd" || controllers.empty()});
    }
    return result;
}

std::vector<pid_t> pids_under(const std::string& dir) {
    std::vector<pid_t> pids;
    std::ifstream procs(dir + "/cgroup.procs");
    for (pid_t pid; procs >> pid;)
        pids.push_back(pid);
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* entry = readdir(d)) {
            if (entry->d_type != DT_DIR || entry->d_name[0] == '.') continue;
            auto more = pids_under(dir + "/" + entry->d_name);
            pids.insert(pids.end(), more.begin(), more.end());
        }
        closedir(d);
    }
    return pids;
}

void remove_tree(const std::string& dir) {
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* entry = readdir(d)) {
            if (entry->d_type != DT_DIR || entry->d_name[0] == '.') continue;
            remove_tree(dir + "/" + entry->d_name);
        }
        closedir(d);
    }
    rmdir(dir.c_str());
}

// A zombie has already released everything; only its reaper (the host's init,
// once the manager is gone) can make it vanish, so it does not count as alive.
bool is_zombie(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto paren = text.rfind(')');
    return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] == 'Z';
}

// Whether /proc/PID/cgroup names the cgroup `name` (or one below it).
bool in_cgroup(pid_t pid, const std::string& name) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
    std::string line;
    while (std::getline(in, line))
        if (line.find("/" + name + "/") != std::string::npos || line.ends_with("/" + name))
            return true;
    return false;
}

// cgroup v2 kills a whole tree at once, forks in flight included (Linux 5.14); a v1
// hierarchy has no cgroup.kill, and empty_tree() kills there process by process.
void kill_tree(const std::string& dir) {
    if (int fd = open((dir + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC); fd >= 0) {
        [[maybe_unused]] auto ignored = write(fd, "1", 1);
        close(fd);
    }
}

// Kills every process in the tree but ourselves and waits (on pidfds, with a
// deadline) until they are gone. Returns false when something survived.
bool empty_tree(const std::string& dir, long long deadline_ms, bool kill_whole = true) {
    const std::string name = dir.substr(dir.rfind('/') + 1);
    if (kill_whole) kill_tree(dir);
    for (;;) {
        std::vector<int> pidfds;
        // Our own child (the manager) must be reaped to leave the cgroup.
        while (waitpid(-1, nullptr, WNOHANG) > 0) {
        }
        for (pid_t pid : pids_under(dir)) {
            if (pid == getpid() || is_zombie(pid)) continue;
            // The pidfd pins the process; checked in the cgroup only after it is
            // open, so a pid recycled since the listing is never signalled.
            int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
            if (fd < 0) continue; // gone already
            if (!in_cgroup(pid, name)) {
                close(fd);
                continue;
            }
            syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
            pidfds.push_back(fd);
        }
        if (pidfds.empty()) return true;
        for (int fd : pidfds) {
            pollfd p{fd, POLLIN, 0};
            long long left = deadline_ms - now_ms();
            if (left > 0) poll(&p, 1, static_cast<int>(left));
            close(fd);
        }
        // Our own child (the manager) must be reaped to leave the cgroup.
        while (waitpid(-1, nullptr, WNOHANG) > 0) {
        }
        if (now_ms() > deadline_ms) return false;
    }
}

bool is_live_keeper(pid_t pid) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    return std::getline(comm, name) && name.rfind("crashloop-sandb", 0) == 0;
}

// Cgroups left by a keeper that was killed outright.
void remove_stale(const std::vector<Hierarchy>& hierarchies) {
    for (const auto& h : hierarchies) {
        DIR* d = opendir(h.parent.c_str());
        if (!d) continue;
        std::vector<std::string> stale;
        while (dirent* entry = readdir(d)) {
            std::string name = entry->d_name;
            if (entry->d_type != DT_DIR || name.rfind(kCgroupPrefix, 0) != 0) continue;
            pid_t owner = static_cast<pid_t>(std::atoi(name.c_str() + std::strlen(kCgroupPrefix)));
            if (owner > 0 && owner != getpid() && !is_live_keeper(owner)) stale.push_back(name);
        }
        closedir(d);
        for (const auto& name : stale) {
            empty_tree(h.parent + "/" + name, now_ms() + 2000);
            remove_tree(h.parent + "/" + name);
        }
    }
}

// Temp dirs of jails whose keeper was killed outright.
void remove_stale_jail_dirs() {
    DIR* d = opendir("/tmp");
    if (!d) return;
    const std::string prefix = std::string(kJailDirPrefix).substr(5);
    std::vector<std::string> stale;
    while (dirent* entry = readdir(d)) {
        std::string name = entry->d_name;
        if (name.rfind(prefix, 0) != 0) continue;
        pid_t owner = static_cast<pid_t>(std::atoi(name.c_str() + prefix.size()));
        if (owner > 0 && owner != getpid() && !is_live_keeper(owner))
            stale.push_back("/tmp/" + name);
    }
    closedir(d);
    std::error_code ignored;
    for (const auto& dir : stale)
        std::filesystem::remove_all(dir, ignored);
}

// --enter NAME -- CMD…: join the keeper's cgroup in every hierarchy, then become CMD.
int enter(const std::string& name, char** command) {
    bool joined_required = false;
    for (const auto& h : our_hierarchies()) {
        const std::string procs = h.parent + "/" + name + "/cgroup.procs";
        if (access(procs.c_str(), W_OK) != 0) continue;
        if (!write_pid(procs, getpid())) die("cannot join " + procs + ": " + std::strerror(errno));
        joined_required = joined_required || h.required;
    }
    if (!joined_required) die("no cgroup named " + name + " (is its keeper running?)");
    execvp(command[0], command);
    die(std::string("cannot run ") + command[0] + ": " + std::strerror(errno));
}

// ---- the private /run --------------------------------------------------------

void make_private_run() {
    check(unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS)");
    check(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0, "make / private");
    check(mount("crashloop", kRun, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64m") == 0,
          "mount tmpfs on /run");
    for (const char* dir : {"/run/systemd", "/run/systemd/system", kBase, "/run/crashloop/units",
                            "/run/crashloop/home"})
        check(mkdir(dir, 0755) == 0, std::string("mkdir ") + dir);
    check(mkdir("/run/crashloop/runtime", 0700) == 0, "mkdir runtime");
    check(mkdir("/run/crashloop/events", 0777) == 0 && chmod("/run/crashloop/events", 01777) == 0,
          "mkdir events");
    // Only these units exist, so nothing of the host's user units is loaded.
    write_file("/run/crashloop/units/default.target", "[Unit]\nDescription=crashloop default\n");
    // Without an exit.target a user manager ignores SIGTERM; this one ends it.
    write_file("/run/crashloop/units/exit.target",
               "[Unit]\nDescription=crashloop exit\nDefaultDependencies=no\n"
               "SuccessAction=exit-force\n");
}

int notify_socket() {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    check(fd >= 0, "socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, kNotifySocket, sizeof addr.sun_path - 1);
    check(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind notify socket");
    return fd;
}

pid_t start_manager(const std::string& systemd, const std::string& log_level) {
    pid_t pid = fork();
    check(pid >= 0, "fork");
    if (pid > 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, STDIN_FILENO);
    dup2(devnull, STDOUT_FILENO);
    std::string level = "SYSTEMD_LOG_LEVEL=" + log_level;
    const char* env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "HOME=/run/crashloop/home",
                         "XDG_RUNTIME_DIR=/run/crashloop/runtime",
                         "SYSTEMD_UNIT_PATH=/run/crashloop/units",
                         "NOTIFY_SOCKET=/run/crashloop/keeper.notify",
                         "SYSTEMD_LOG_TARGET=console",
                         level.c_str(),
                         nullptr};
    execle(systemd.c_str(), systemd.c_str(), "--user", static_cast<char*>(nullptr), env);
    std::fprintf(stderr, "crashloop-sandbox: exec %s: %s\n", systemd.c_str(), std::strerror(errno));
    _exit(127);
}

bool got_ready(int notify_fd) {
    char buffer[4096];
    bool ready = false;
    for (;;) {
        ssize_t n = recv(notify_fd, buffer, sizeof buffer - 1, 0);
        if (n <= 0) return ready;
        buffer[n] = '\0';
        std::istringstream lines(buffer);
        for (std::string line; std::getline(lines, line);)
            if (line == "READY=1") ready = true;
    }
}

struct Options {
    std::string systemd = "/lib/systemd/systemd";
    std::string log_level = "warning";
    bool jail = false; // --jail: a cgroup (and a directory) for another supervisor, no manager
};

Options parse_options(int argc, char** argv) {
    Options options;
    options.jail = argc == 2 && std::string(argv[1]) == "--jail";
    for (int i = options.jail ? argc : 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        if (flag == "--systemd")
            options.systemd = argv[i + 1];
        else if (flag == "--log-level")
            options.log_level = argv[i + 1];
        else
            die("unknown option " + flag +
                " (expected --systemd PATH, --log-level LEVEL; or --jail; or --enter NAME -- CMD)");
    }
    return options;
}

// The signals that end us arrive on a signalfd, read in the loops below.
int block_signals() {
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD})
        sigaddset(&mask, sig);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    int signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    check(signal_fd >= 0, "signalfd");
    signal(SIGPIPE, SIG_IGN);
    return signal_fd;
}

// Our own cgroup in every hierarchy (and the jail's directory): made at start, and everything
// in them killed and removed by teardown(), however the run ends.
class Sandbox {
  public:
    explicit Sandbox(bool jail)
        : hierarchies_(our_hierarchies()), own_(kCgroupPrefix + std::to_string(getpid())),
          jail_dir_(kJailDirPrefix + std::to_string(getpid())), jail_(jail) {
        // What runs whose keeper was killed outright left (whichever mode they ran in).
        remove_stale(hierarchies_);
        remove_stale_jail_dirs();
        bool have_required = false;
        for (auto& h : hierarchies_) {
            std::string dir = h.parent + "/" + own_;
            if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) continue;
            if (!write_pid(dir + "/cgroup.procs", getpid())) {
                rmdir(dir.c_str());
                continue;
            }
            h.own = dir;
            have_required = have_required || h.required;
        }
        if (!have_required) {
            std::fprintf(stderr, "crashloop-sandbox: cannot make a cgroup of our own\n");
            teardown(1);
        }
    }

    const std::string& own() const { return own_; }
    const std::string& jail_dir() const { return jail_dir_; }

    [[noreturn]] void teardown(int code) {
        long long deadline = now_ms() + 10000;
        bool clean = true;
        // Out of the cgroups first: cgroup.kill would take us too. Where we could not step
        // out, the processes are killed one by one (empty_tree skips us). Every cgroup.kill
        // is written before the slow per-process loops, whatever the hierarchies' order.
        std::vector<bool> stepped_out;
        for (auto& h : hierarchies_)
            stepped_out.push_back(!h.own.empty() && write_pid(h.parent + "/cgroup.procs", getpid()));
        for (size_t i = 0; i < hierarchies_.size(); ++i)
            if (stepped_out[i]) kill_tree(hierarchies_[i].own);
        for (auto& h : hierarchies_)
            if (!h.own.empty()) clean = empty_tree(h.own, deadline, /*kill_whole=*/false) && clean;
        for (auto& h : hierarchies_)
            if (!h.own.empty()) remove_tree(h.own);
        if (jail_) {
            std::error_code ignored;
            std::filesystem::remove_all(jail_dir_, ignored);
        }
        if (!clean) std::fprintf(stderr, "crashloop-sandbox: processes survived SIGKILL\n");
        std::exit(clean ? code : 1);
    }

  private:
    std::vector<Hierarchy> hierarchies_;
    std::string own_, jail_dir_;
    bool jail_;
};

// The harness's death reaches us (PR_SET_PDEATHSIG) and we tear down; but the harness and
// this keeper killed together (kill -9 of both, the OOM killer) would leave the run's
// processes running, a daemonized fixture or a real daemon among them. So a warden, forked
// first, waits on this keeper's pidfd and, should the keeper die before its teardown, does
// the teardown itself. It sits in the run's cgroup, so a normal teardown kills it with the
// rest; its name is crashloop-warden (crashloop-warde in ps: the kernel keeps 15 characters).
void start_warden(Sandbox& sandbox, int signal_fd) {
    const int keeper = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
    check(keeper >= 0, "pidfd_open");
    const pid_t pid = fork();
    check(pid >= 0, "fork");
    if (pid > 0) {
        close(keeper);
        return;
    }
    prctl(PR_SET_NAME, "crashloop-warden");
    prctl(PR_SET_PDEATHSIG, 0);
    close(signal_fd);
    // Not holding the harness's pipes: it sees the keeper's end as EOF.
    const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    for (;;) {
        pollfd p{keeper, POLLIN, 0};
        if (poll(&p, 1, -1) > 0) sandbox.teardown(0);
    }
}

// --jail: say where the cgroup and the directory are, then hold them until EOF on stdin or a
// signal.
[[noreturn]] void serve_jail(Sandbox& sandbox, int signal_fd) {
    if (mkdir(sandbox.jail_dir().c_str(), 0700) != 0) {
        std::fprintf(stderr, "crashloop-sandbox: cannot make %s: %s\n", sandbox.jail_dir().c_str(),
                     std::strerror(errno));
        sandbox.teardown(1);
    }
    std::printf("ready %s %s\n", sandbox.own().c_str(), sandbox.jail_dir().c_str());
    std::fflush(stdout);
    for (;;) {
        pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {signal_fd, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0 && errno == EINTR) continue;
        char byte;
        if (fds[0].revents && read(STDIN_FILENO, &byte, 1) <= 0) sandbox.teardown(0);
        signalfd_siginfo info{};
        while (read(signal_fd, &info, sizeof info) == sizeof info)
            if (info.ssi_signo != SIGCHLD) sandbox.teardown(0);
    }
}

// The private manager: start it, say "ready PID" once it sent READY=1, then hold it until EOF on
// stdin, a signal, or its own end.
[[noreturn]] void serve_manager(Sandbox& sandbox, int signal_fd, const Options& options) {
    make_private_run();
    int notify_fd = notify_socket();
    pid_t manager = start_manager(options.systemd, options.log_level);

    // Shorter than the harness's own 30 s, so that our teardown, not its kill, ends a failed start.
    const long long ready_deadline = now_ms() + 25000;
    bool ready = false;
    for (;;) {
        // The notify socket is read for as long as the manager runs, not only until READY=1:
        // a user manager keeps sending (STATUS= "User job … running" every second while a job
        // is slow), its sd_notify() blocks once the socket's queue is full (net.unix.
        // max_dgram_qlen, 10 datagrams), and a blocked manager answers no D-Bus call.
        pollfd fds[3] = {{STDIN_FILENO, POLLIN, 0}, {signal_fd, POLLIN, 0}, {notify_fd, POLLIN, 0}};
        int timeout = ready ? -1 : static_cast<int>(std::max(0LL, ready_deadline - now_ms()));
        int n = poll(fds, 3, timeout);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) {
            std::fprintf(stderr, "crashloop-sandbox: systemd --user sent no READY=1 in 25 s\n");
            sandbox.teardown(1);
        }
        if (fds[0].revents) {
            char byte;
            if (read(STDIN_FILENO, &byte, 1) <= 0)
                sandbox.teardown(0); // the harness is done (or gone)
        }
        if (fds[1].revents) {
            signalfd_siginfo info{};
            while (read(signal_fd, &info, sizeof info) == sizeof info) {
                if (info.ssi_signo != SIGCHLD) sandbox.teardown(0);
                int status = 0;
                if (waitpid(manager, &status, WNOHANG) == manager) {
                    std::fprintf(stderr, "crashloop-sandbox: systemd --user ended (status %d)\n",
                                 status);
                    sandbox.teardown(1);
                }
            }
        }
        if ((fds[2].revents & POLLIN) && got_ready(notify_fd) && !ready) {
            ready = true;
            std::printf("ready %d\n", static_cast<int>(manager));
            std::fflush(stdout);
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc >= 5 && std::string(argv[1]) == "--enter" && std::string(argv[3]) == "--")
        return enter(argv[2], argv + 4);
    const Options options = parse_options(argc, argv);
    if (geteuid() != 0) die("needs root (mount namespace, cgroups)");

    // The harness's death (even SIGKILL) reaches us as SIGTERM: tear down.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) return 1;
    // Ctrl-C at the terminal is the harness's to handle, not ours.
    setsid();
    const int signal_fd = block_signals();

    Sandbox sandbox(options.jail);
    start_warden(sandbox, signal_fd);
    if (options.jail) serve_jail(sandbox, signal_fd);
    serve_manager(sandbox, signal_fd, options);
}
