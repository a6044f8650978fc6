#pragma once
// The apache tests' own Apache: a ServerRoot in a temp dir (config, envvars,
// PidFile, runtime and lock dirs, error log, Listen 127.0.0.1:<free port>) that
// Debian's apachectl is pointed at through APACHE_CONFDIR and APACHE_ENVVARS, so
// the host's /etc/apache2, /run/apache2 and any Apache it runs are never read or
// signalled; plus the small helpers the tests share (RAII fd and temp dir, a
// free port, one HTTP GET with a timeout). Shared by apache_test.cpp and
// check_real_test.cpp.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include "fd.hpp"
#include "temp_dir.hpp"
#include "supervisor.hpp"

namespace apache_site {

using crashloop::Fd;
using crashloop::pidfd_of;
using crashloop::RestartValue;
using crashloop::ServiceSpec;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline constexpr const char* kApache = "/usr/sbin/apache2";
inline constexpr const char* kApachectl = "/usr/sbin/apachectl";
inline constexpr const char* kModules = "/usr/lib/apache2/modules";
inline constexpr const char* kUnit = "crashloop-apache2.service";

// ---- small helpers ----------------------------------------------------------------------



inline int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}

// Waits for `events` on fd until the deadline; false when it passed first.
inline bool wait_fd(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        int n = poll(&p, 1, remaining_ms(deadline));
        if (n > 0) return true;
        if (n == 0) return false;
        if (errno != EINTR) return false;
    }
}

// A port on 127.0.0.1 that nothing listens on right now.
inline uint16_t free_port() {
    Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (fd.get() < 0 || bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &length) != 0)
        throw std::runtime_error(std::string("finding a free port: ") + std::strerror(errno));
    return ntohs(addr.sin_port);
}

// ---- HTTP: one GET, blocking with a timeout ---------------------------------------------

struct HttpResult {
    int status = 0;    // the status code, 0 when there was none
    std::string error; // why there was none ("connection refused", "timed out" …)
};

inline HttpResult http_get(uint16_t port, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return {0, std::string("socket: ") + std::strerror(errno)};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno != EINPROGRESS) return {0, std::string("connect: ") + std::strerror(errno)};
        if (!wait_fd(fd.get(), POLLOUT, deadline)) return {0, "connect: timed out"};
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) return {0, std::string("connect: ") + std::strerror(error)};
    }
    const std::string request =
        "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: crashloop\r\n\r\n";
    size_t sent = 0;
    while (sent < request.size()) {
        ssize_t n = send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) return {0, std::string("send: ") + std::strerror(errno)};
        if (!wait_fd(fd.get(), POLLOUT, deadline)) return {0, "send: timed out"};
    }
    // HTTP/1.0: the server closes after the response; read it whole.
    std::string response;
    for (;;) {
        char buffer[4096];
        ssize_t n = recv(fd.get(), buffer, sizeof buffer, 0);
        if (n > 0) {
            response.append(buffer, static_cast<size_t>(n));
            continue;
        }
        if (n == 0) break;
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return {0, std::string("recv: ") + std::strerror(errno)};
        if (!wait_fd(fd.get(), POLLIN, deadline)) return {0, "response: timed out"};
    }
    int status = 0;
    if (std::sscanf(response.c_str(), "HTTP/%*d.%*d %d", &status) != 1 || status == 0)
        return {0, response.empty() ? "closed without a response" : "no status line"};
    return {status, ""};
}

// ---- the test's own Apache: ServerRoot, envvars, config ---------------------------------

struct ApacheSite {
    fs::path root, pid_file, error_log;
    uint16_t port = 0;

    explicit ApacheSite(const fs::path& dir) : root(dir), port(free_port()) {
        pid_file = root / "run" / "apache2.pid";
        error_log = root / "log" / "error.log";
        for (const char* sub : {"log", "htdocs"})
            fs::create_directory(root / sub);
        write(root / "htdocs" / "index.html", "crashloop: the real Apache answers\n");
        // Running as root, Apache hands its workers to an unprivileged user.
        std::string user = "www-data", group = "www-data";
        if (!getpwnam("www-data")) user = "nobody", group = "nogroup";
        // What /etc/apache2/envvars is for Debian's apachectl; the runtime and lock
        // dirs are ours (the manager's /run is a private tmpfs, and not ours anyway).
        const std::string run = (root / "run").string(), htdocs = (root / "htdocs").string();
        std::string env = "# crashloop: the environment apachectl sources (APACHE_ENVVARS)\n";
        env += "export APACHE_RUN_USER=" + user + "\n";
        env += "export APACHE_RUN_GROUP=" + group + "\n";
        env += "export APACHE_PID_FILE=" + pid_file.string() + "\n";
        env += "export APACHE_RUN_DIR=" + run + "\n";
        env += "export APACHE_LOCK_DIR=" + (root / "lock").string() + "\n";
        env += "export APACHE_LOG_DIR=" + (root / "log").string() + "\n";
        env += "export LANG=C\n";
        write(root / "envvars", env);

        const std::string modules = kModules;
        std::string conf = "# crashloop's real-Apache test: its own ServerRoot, nothing of "
                           "/etc/apache2.\n";
        conf += "ServerRoot \"" + root.string() + "\"\n";
        conf += "ServerName 127.0.0.1\n";
        conf += "DefaultRuntimeDir ${APACHE_RUN_DIR}\n";
        conf += "PidFile ${APACHE_PID_FILE}\n";
        conf += "Mutex file:${APACHE_LOCK_DIR} default\n";
        // notice: AH00060 (the parent's crash) and AH00493 (graceful restart) are logged.
        conf += "ErrorLog ${APACHE_LOG_DIR}/error.log\nLogLevel notice\n";
        conf += "Timeout 10\nKeepAlive Off\n";
        conf += "User ${APACHE_RUN_USER}\nGroup ${APACHE_RUN_GROUP}\n";
        // Debian's default MPM with Debian's mpm_event.conf.
        conf += "LoadModule mpm_event_module " + modules + "/mod_mpm_event.so\n";
        conf += "StartServers 2\nMinSpareThreads 25\nMaxSpareThreads 75\nThreadLimit 64\n"
                "ThreadsPerChild 25\nMaxRequestWorkers 150\nMaxConnectionsPerChild 0\n";
        conf += "LoadModule authz_core_module " + modules + "/mod_authz_core.so\n";
        conf += "LoadModule dir_module " + modules + "/mod_dir.so\n";
        conf += "LoadModule mime_module " + modules + "/mod_mime.so\n";
        conf += fs::exists("/etc/mime.types") ? "TypesConfig /etc/mime.types\n"
                                              : "TypesConfig /dev/null\n";
        conf += "Listen 127.0.0.1:" + std::to_string(port) + "\n";
        conf += "DocumentRoot \"" + htdocs + "\"\nDirectoryIndex index.html\n";
        conf += "<Directory />\n    AllowOverride None\n    Require all denied\n</Directory>\n";
        conf += "<Directory \"" + htdocs + "\">\n    Require all granted\n</Directory>\n";
        write(root / "apache2.conf", conf);
    }

    // Debian's apache2.service with the operator's override, in our ServerRoot.
    ServiceSpec unit() const {
        ServiceSpec s;
        s.name = kUnit;
        s.description = "crashloop: Debian's apache2.service + override Restart=on-failure";
        s.type = "forking";
        s.restart = RestartValue::on_failure;
        s.exec_start = {kApachectl, "start"};
        s.exec_stop = {kApachectl, "graceful-stop"};
        s.exec_reload = {kApachectl, "graceful"};
        s.kill_mode = "mixed";
        // Debian's unit has no PIDFile= and lets systemd guess; Apache's own PidFile
        // makes the main pid certain (and is in our dir, not /run/apache2).
        s.pid_file = pid_file.string();
        s.environment = {"APACHE_STARTED_BY_SYSTEMD=true", // as Debian's unit sets
                         "APACHE_CONFDIR=" + root.string(),
                         "APACHE_ENVVARS=" + (root / "envvars").string()};
        return s;
    }

    std::optional<pid_t> pid_in_file() const {
        std::ifstream in(pid_file);
        long pid = 0;
        if (!(in >> pid) || pid <= 0) return std::nullopt;
        return static_cast<pid_t>(pid);
    }

    // The last lines of Apache's error log, for failure messages.
    std::string error_log_tail(size_t lines = 15) const {
        std::ifstream in(error_log);
        std::deque<std::string> last;
        for (std::string line; std::getline(in, line);) {
            last.push_back(line);
            if (last.size() > lines) last.pop_front();
        }
        std::string text = "\n  " + error_log.string() + (last.empty() ? " (empty)" : ":");
        for (const auto& line : last)
            text += "\n    " + line;
        return text;
    }

    // How many lines of Apache's error log carry this message id ("AH00493").
    int logged(const std::string& id) const {
        std::ifstream in(error_log);
        int count = 0;
        for (std::string line; std::getline(in, line);)
            if (line.find(id) != std::string::npos) ++count;
        return count;
    }

    // Debian's apache2.service as the package ships it (/lib/systemd/system/apache2.service).
    static std::string debian_unit() {
        return "[Unit]\n"
               "Description=The Apache HTTP Server\n"
               "After=network.target remote-fs.target nss-lookup.target\n"
               "Documentation=https://httpd.apache.org/docs/2.4/\n"
               "\n"
               "[Service]\n"
               "Type=forking\n"
               "Environment=APACHE_STARTED_BY_SYSTEMD=true\n"
               "ExecStart=/usr/sbin/apachectl start\n"
               "ExecStop=/usr/sbin/apachectl graceful-stop\n"
               "ExecReload=/usr/sbin/apachectl graceful\n"
               "KillMode=mixed\n"
               "PrivateTmp=true\n"
               "Restart=on-abort\n"
               "OOMPolicy=continue\n"
               "\n"
               "[Install]\n"
               "WantedBy=multi-user.target\n";
    }

    // The unit files an operator would have, written into `dir`: Debian's
    // apache2.service, a drop-in pointing it at this site (apachectl reads
    // APACHE_CONFDIR / APACHE_ENVVARS; PIDFile= makes the main pid certain),
    // and the operator's override.conf with `Restart=`.
    struct UnitFiles {
        fs::path unit, site_dropin, override_dropin;
    };
    UnitFiles write_units(const fs::path& dir, const std::string& restart = "on-failure") const {
        UnitFiles files;
        files.unit = dir / "apache2.service";
        const fs::path dropins = dir / "apache2.service.d";
        fs::create_directories(dropins);
        files.site_dropin = dropins / "site.conf";
        files.override_dropin = dropins / "override.conf";
        write(files.unit, debian_unit());
        write(files.site_dropin, "# crashloop's test site: its own ServerRoot, config and port\n"
                                 "[Service]\n"
                                 "Environment=APACHE_CONFDIR=" +
                                     root.string() +
                                     "\n"
                                     "Environment=APACHE_ENVVARS=" +
                                     (root / "envvars").string() +
                                     "\n"
                                     "PIDFile=" +
                                     pid_file.string() +
                                     "\n"
                                     // An Apache told to stop gracefully the instant it came
                                     // back can wait on workers still starting; a test waits 10 s,
                                     // not Debian's default 90 s, for systemd to end that.
                                     "TimeoutStopSec=10s\n");
        write(files.override_dropin,
              "# systemctl edit apache2\n[Service]\nRestart=" + restart + "\n");
        return files;
    }

  private:
    static void write(const fs::path& path, const std::string& text) {
        std::ofstream out(path);
        out << text;
        if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
    }
};

} // namespace apache_site
