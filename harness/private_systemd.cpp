#include "private_systemd.hpp"

// Boost.Process v2 in 1.81 uses these without including them under BOOST_PROCESS_USE_STD_FS.
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace crashloop {

namespace bp = boost::process::v2;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
std::shared_ptr<spdlog::logger> logger() {
    static auto log = [] {
        auto existing = spdlog::get("systemd");
        return existing ? existing : spdlog::default_logger()->clone("systemd");
    }();
    return log;
}

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}
} // namespace

struct PrivateSystemd::Keeper {
    asio::io_context context;
    asio::writable_pipe to_keeper{context};
    asio::readable_pipe from_keeper{context};
    std::unique_ptr<bp::process> process;
    int pid = 0;

    // EOF on its stdin tells the keeper to kill everything and remove its
    // cgroups; wait for that (a SIGKILL would skip it) before reaping it.
    void shut_down() {
        if (!process) return;
        boost::system::error_code ignored;
        to_keeper.close(ignored);
        int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
        if (pidfd >= 0) {
            pollfd p{pidfd, POLLIN, 0};
            if (poll(&p, 1, 15000) == 0) {
                logger()->error("crashloop-sandbox {} did not finish its teardown in 15 s; killing it",
                                pid);
                kill(pid, SIGKILL);
                poll(&p, 1, 5000);
            }
            close(pidfd);
        }
        process->wait(ignored);
        if (process->exit_code() != 0)
            logger()->warn("crashloop-sandbox ended with status {}", process->exit_code());
        process.reset();
    }
};

PrivateSystemd::PrivateSystemd(const Options& options) : keeper_(std::make_unique<Keeper>()) {
    auto& k = *keeper_;
    if (!std::filesystem::exists(options.keeper))
        throw SupervisorError("crashloop-sandbox not found at " + options.keeper.string());
    if (!std::filesystem::exists(options.systemd))
        throw SupervisorError("systemd not found at " + options.systemd.string() +
                              " (install Debian's systemd package)");
    k.process = std::make_unique<bp::process>(
        k.context, options.keeper.string(),
        std::vector<std::string>{"--systemd", options.systemd.string(), "--log-level",
                                 options.log_level},
        bp::process_stdio{k.to_keeper, k.from_keeper, {}});
    k.pid = k.process->id();
    logger()->debug("crashloop-sandbox started: pid {}", k.pid);

    try {
        wait_until_ready(options.ready_timeout);
    } catch (...) {
        k.shut_down();
        throw;
    }
}

void PrivateSystemd::wait_until_ready(std::chrono::milliseconds ready_timeout) {
    auto& k = *keeper_;
    // The keeper prints "ready <manager pid>" once systemd has sent READY=1
    // (and gives up by itself a little before this deadline).
    const auto deadline = Clock::now() + ready_timeout;
    std::string line;
    int fd = k.from_keeper.native_handle();
    while (line.find('\n') == std::string::npos) {
        pollfd p{fd, POLLIN, 0};
        int n = poll(&p, 1, remaining_ms(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n == 0)
            throw SupervisorError("private systemd not ready within " +
                                  std::to_string(ready_timeout.count()) + " ms");
        char buffer[256];
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got <= 0)
            throw SupervisorError("private systemd failed to start (see crashloop-sandbox's "
                                  "message above)");
        line.append(buffer, static_cast<size_t>(got));
    }
    if (line.rfind("ready ", 0) != 0) throw SupervisorError("crashloop-sandbox said: " + line);
    logger()->debug("private systemd ready: keeper pid {}, manager pid {}", k.pid,
                    std::atoi(line.c_str() + 6));
}

PrivateSystemd::~PrivateSystemd() { keeper_->shut_down(); }

std::string PrivateSystemd::bus_address() const {
    return "unix:path=" + from_host("/run/crashloop/runtime/systemd/private").string();
}

std::filesystem::path PrivateSystemd::from_host(const std::filesystem::path& inside) const {
    return "/proc/" + std::to_string(keeper_->pid) + "/root" + inside.string();
}

int PrivateSystemd::keeper_pid() const { return keeper_->pid; }

std::filesystem::path libexec_dir() {
    if (const char* dir = std::getenv("CRASHLOOP_LIBEXEC_DIR"); dir && *dir) return dir;
    // Next to our own executable first: an installed or copied build.
    std::error_code error;
    auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error && std::filesystem::exists(self.parent_path() / "fake-httpd"))
        return self.parent_path();
    return CRASHLOOP_LIBEXEC_DIR;
}

std::filesystem::path scenarios_dir() {
    if (const char* dir = std::getenv("CRASHLOOP_SCENARIOS_DIR"); dir && *dir) return dir;
    return CRASHLOOP_SCENARIOS_DIR;
}

} // namespace crashloop
