#include "keeper.hpp"

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
#include <cstring>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errors.hpp"
#include "interrupt.hpp"

namespace crashloop {

namespace bp = boost::process::v2;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}
} // namespace

struct Keeper::Process {
    asio::io_context context;
    asio::writable_pipe to_keeper{context};
    asio::readable_pipe from_keeper{context};
    std::unique_ptr<bp::process> process;
    int pid = 0;
};

Keeper::Keeper(const std::filesystem::path& program, const std::vector<std::string>& args,
               std::chrono::milliseconds ready_timeout, const std::string& what)
    : process_(std::make_unique<Process>()) {
    auto& k = *process_;
    if (!std::filesystem::exists(program))
        throw SupervisorError("crashloop-sandbox not found at " + program.string());
    k.process = std::make_unique<bp::process>(k.context, program.string(), args,
                                              bp::process_stdio{k.to_keeper, k.from_keeper, {}});
    k.pid = k.process->id();
    spdlog::debug("crashloop-sandbox started for the {}: pid {}", what, k.pid);
    try {
        const auto deadline = Clock::now() + ready_timeout;
        std::string line;
        int fd = k.from_keeper.native_handle();
        while (line.find('\n') == std::string::npos) {
            pollfd p[2] = {{fd, POLLIN, 0}, {interrupt::fd(), POLLIN, 0}};
            int n = poll(p, interrupt::fd() >= 0 ? 2 : 1, remaining_ms(deadline));
            if (n < 0 && errno == EINTR) continue;
            interrupt::throw_if_requested();
            if (n == 0)
                throw SupervisorError(what + " not ready within " + std::to_string(ready_timeout.count()) + " ms");
            char buffer[256];
            ssize_t got = read(fd, buffer, sizeof buffer);
            if (got <= 0)
                throw SupervisorError(what + " failed to start (see crashloop-sandbox's message above)");
            line.append(buffer, static_cast<size_t>(got));
        }
        line.erase(line.find('\n'));
        if (line.rfind("ready ", 0) != 0) throw SupervisorError("crashloop-sandbox said: " + line);
        ready_words_ = line.substr(6);
    } catch (...) {
        shut_down();
        throw;
    }
}

Keeper::~Keeper() { shut_down(); }

int Keeper::pid() const { return process_->pid; }

// EOF on its stdin tells the keeper to kill everything and remove its
// cgroups; wait for that (a SIGKILL would skip it) before reaping it.
void Keeper::shut_down() {
    auto& k = *process_;
    if (!k.process) return;
    boost::system::error_code ignored;
    k.to_keeper.close(ignored);
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, k.pid, 0));
    if (pidfd >= 0) {
        pollfd p{pidfd, POLLIN, 0};
        // A second Ctrl-C during the teardown is no reason to stop waiting for it.
        const auto deadline = Clock::now() + std::chrono::seconds(15);
        int n;
        while ((n = poll(&p, 1, remaining_ms(deadline))) < 0 && errno == EINTR) {
        }
        if (n == 0) {
            spdlog::error("crashloop-sandbox {} did not finish its teardown in 15 s; killing it", k.pid);
            ::kill(k.pid, SIGKILL);
            poll(&p, 1, 5000);
        }
        close(pidfd);
    } else {
        // No pidfd (out of descriptors): nothing to wait on with a deadline, so
        // no teardown to wait for either; its cgroups go with the next run.
        spdlog::error("crashloop-sandbox {}: pidfd_open: {}; killing it", k.pid, std::strerror(errno));
        ::kill(k.pid, SIGKILL);
    }
    k.process->wait(ignored);
    if (k.process->exit_code() != 0) spdlog::warn("crashloop-sandbox ended with status {}", k.process->exit_code());
    k.process.reset();
}

} // namespace crashloop
