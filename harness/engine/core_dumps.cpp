#include "core_dumps.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

// Boost.Process 1.81's headers use these without including them.
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "errors.hpp"

namespace crashloop {

namespace fs = std::filesystem;
namespace bp = boost::process::v2;

namespace {

constexpr auto kGdbLimit = std::chrono::seconds(60);
constexpr size_t kGdbOutputCap = 256 * 1024;

std::string first_line_of(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string regex_escaped(char c) {
    static const std::string special = R"(\^$.|?*+()[]{})";
    return special.find(c) == std::string::npos ? std::string(1, c) : "\\" + std::string(1, c);
}

// The file name part of the pattern (after its last '/').
std::string name_part(const std::string& text) {
    const auto slash = text.rfind('/');
    return slash == std::string::npos ? text : text.substr(slash + 1);
}

// The executable a gdb is: found on PATH, as the shell would.
std::optional<fs::path> on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::stringstream folders(path ? path : "/usr/bin:/bin");
    for (std::string folder; std::getline(folders, folder, ':');) {
        const fs::path candidate = fs::path(folder.empty() ? "." : folder) / program;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
}

} // namespace

CorePattern core_pattern_of(std::string text, bool uses_pid) {
    CorePattern p;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    p.text = text;
    p.piped = text.starts_with("|");
    p.uses_pid = uses_pid;
    return p;
}

CorePattern read_core_pattern() {
    return core_pattern_of(first_line_of("/proc/sys/kernel/core_pattern"),
                           first_line_of("/proc/sys/kernel/core_uses_pid") == "1");
}

std::string where_cores_go(const CorePattern& p) {
    if (p.text.empty()) return "core_pattern could not be read: where cores go is unknown";
    if (p.piped) {
        if (p.text.find("systemd-coredump") != std::string::npos)
            return "the kernel pipes cores to systemd-coredump (core_pattern '" + p.text +
                   "'): `coredumpctl list` shows them, `coredumpctl gdb PID` opens one";
        if (p.text.find("apport") != std::string::npos)
            return "the kernel pipes cores to apport (core_pattern '" + p.text +
                   "'): they land in /var/crash as .crash reports (apport-unpack extracts the "
                   "core)";
        return "the kernel pipes cores to a handler (core_pattern '" + p.text +
               "'): ask it for them";
    }
    if (auto folder = pattern_folder(p))
        return "the kernel writes cores to " + folder->string() + " (core_pattern '" + p.text + "')";
    if (p.text.find('/') != std::string::npos)
        return "the kernel writes cores where core_pattern '" + p.text +
               "' says; crashloop looks only in folders it can name";
    return "the kernel writes cores into the crashing process's working directory, as '" +
           p.text + "'" + (p.uses_pid && p.text.find("%p") == std::string::npos ? " + .PID" : "");
}

std::optional<fs::path> pattern_folder(const CorePattern& p) {
    if (p.piped || !p.text.starts_with("/")) return std::nullopt;
    const fs::path folder = fs::path(p.text).parent_path();
    if (folder.string().find('%') != std::string::npos) return std::nullopt;
    return folder;
}

bool core_name_matches(const CorePattern& p, const std::string& name, uint32_t pid, int signo) {
    if (p.piped || p.text.empty()) return false;
    const std::string part = name_part(p.text);
    std::string re;
    bool has_pid = false;
    for (size_t i = 0; i < part.size(); ++i) {
        if (part[i] != '%' || i + 1 == part.size()) {
            re += regex_escaped(part[i]);
            continue;
        }
        switch (part[++i]) {
        case '%':
            re += "%";
            break;
        case 'p': case 'P': case 'i': case 'I':
            re += std::to_string(pid);
            has_pid = true;
            break;
        case 's':
            re += std::to_string(signo);
            break;
        case 'u': case 'g': case 't': case 'd':
            re += "[0-9]+";
            break;
        default: // %e %E %h %c %f: names the harness would have to guess
            re += ".*";
        }
    }
    if (p.uses_pid && !has_pid) re += "\\." + std::to_string(pid);
    return std::regex_match(name, std::regex(re));
}

std::optional<fs::path> find_core(const CorePattern& p, uint32_t pid, int signo,
                                  const std::vector<fs::path>& folders,
                                  fs::file_time_type since) {
    std::optional<fs::path> best;
    fs::file_time_type best_time{};
    for (const auto& folder : folders) {
        std::error_code error;
        for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
            std::error_code ignored;
            if (!it->is_regular_file(ignored)) continue;
            if (!core_name_matches(p, it->path().filename().string(), pid, signo)) continue;
            const auto written = it->last_write_time(ignored);
            if (ignored || written < since) continue;
            if (!best || written > best_time) {
                best = it->path();
                best_time = written;
            }
        }
    }
    return best;
}

std::string keep_core(const fs::path& core, const fs::path& to) {
    std::error_code error;
    fs::create_directories(to.parent_path(), error);
    if (error) return "cannot make " + to.parent_path().string() + ": " + error.message();
    fs::rename(core, to, error);
    if (!error) return "";
    // Across file systems (the daemon's folder and the run's): copy, then remove.
    error.clear();
    fs::copy_file(core, to, fs::copy_options::overwrite_existing, error);
    if (error) return "cannot copy " + core.string() + " to " + to.string() + ": " + error.message();
    fs::remove(core, error);
    return "";
}

Backtrace backtrace_of(const fs::path& program, const fs::path& core, int interrupt_fd) {
    Backtrace b;
    const auto gdb = on_path("gdb");
    const std::string by_hand = "gdb -batch -ex bt " + program.string() + " " + core.string();
    if (!gdb) {
        b.note = "gdb is not installed (apt-get install gdb): `" + by_hand + "` shows it";
        return b;
    }
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0) throw SupervisorError(std::string("pipe2: ") + std::strerror(errno));
    boost::asio::io_context context;
    std::optional<bp::process> gdb_run;
    try {
        gdb_run.emplace(context, gdb->string(),
                        std::vector<std::string>{"-batch", "-nx", "-ex", "set pagination off",
                                                 "-ex", "bt", program.string(), core.string()},
                        bp::process_stdio{nullptr, out[1], nullptr});
    } catch (const std::exception& e) {
        close(out[0]);
        close(out[1]);
        b.note = std::string("gdb could not be run: ") + e.what() + "; `" + by_hand + "` shows it";
        return b;
    }
    close(out[1]);
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + kGdbLimit;
    bool interrupted = false, timed_out = false;
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd fds[2] = {{out[0], POLLIN, 0}, {interrupt_fd, POLLIN, 0}};
        const int n = poll(fds, interrupt_fd >= 0 ? 2 : 1, int(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (interrupt_fd >= 0 && (fds[1].revents & POLLIN)) {
            interrupted = true;
            break;
        }
        if (n <= 0) continue;
        char buffer[4096];
        const ssize_t got = read(out[0], buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        if (text.size() < kGdbOutputCap) text.append(buffer, size_t(got));
    }
    close(out[0]);
    boost::system::error_code ignored;
    if (interrupted || timed_out) gdb_run->terminate(ignored);
    gdb_run->wait(ignored);
    if (interrupted) throw Interrupted();
    std::istringstream lines(text);
    // gdb shows the crashing frame once as it loads the core, then the whole stack for `bt`:
    // the last run of frames from #0 is the backtrace.
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("#0 ")) b.frames.clear();
        if (line.starts_with("#")) b.frames.push_back(line);
    }
    if (timed_out)
        b.note = "gdb did not finish within 60 s; `" + by_hand + "` shows it";
    else if (b.frames.empty())
        b.note = "gdb printed no frames; `" + by_hand + "` shows why";
    return b;
}

} // namespace crashloop
