#include "daemon_process.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace crashloop {

namespace {

constexpr auto kIdleGap = std::chrono::milliseconds(30);
constexpr auto kExecPoll = std::chrono::milliseconds(5);

// utime, stime and the state letter of /proc/PID/stat ("12 3 S"); nullopt when gone.
std::optional<std::string> cpu_and_state(uint32_t pid) {
    const auto f = stat_fields(pid);
    if (f.size() < 13) return std::nullopt;
    return f[11] + " " + f[12] + " " + f[0];
}

// Does `pid` run another program than its parent (the supervisor that forked it)?
// A process gone, or unreadable, is not waited for.
bool has_exec(uint32_t pid) {
    std::error_code error;
    const auto proc = std::filesystem::path("/proc") / std::to_string(pid);
    const auto exe = std::filesystem::read_symlink(proc / "exe", error);
    if (error) return true;
    const auto f = stat_fields(pid);
    const std::string parent = f.size() > 1 ? f[1] : "0";
    if (parent == "0") return true;
    const auto parent_exe =
        std::filesystem::read_symlink(std::filesystem::path("/proc") / parent / "exe", error);
    return error || exe != parent_exe;
}

std::string link_of(uint32_t pid, const char* what) {
    std::error_code error;
    const auto target =
        std::filesystem::read_symlink(std::filesystem::path("/proc") / std::to_string(pid) / what, error);
    return error ? "" : target.string();
}

} // namespace

std::vector<std::string> stat_fields(uint32_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // The name, in parentheses, may hold spaces.
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) return {};
    std::istringstream fields(text.substr(paren + 1));
    std::vector<std::string> f;
    for (std::string word; f.size() < 13 && fields >> word;)
        f.push_back(word);
    return f;
}

bool wait_for_exec(Session& session, uint32_t pid, Clock::time_point deadline) {
    for (;;) {
        if (session.died(pid) || has_exec(pid)) return true;
        if (Clock::now() >= deadline) return false;
        session.wait(std::min(deadline, Clock::now() + kExecPoll));
    }
}

void wait_until_idle(Session& session, uint32_t pid, Clock::time_point limit) {
    std::optional<std::string> before = cpu_and_state(pid);
    for (;;) {
        if (!before || session.died(pid) || Clock::now() >= limit) return;
        session.wait(std::min(limit, Clock::now() + kIdleGap));
        const std::optional<std::string> now = cpu_and_state(pid);
        if (now && *now == *before && now->back() == 'S') return;
        before = now;
    }
}

std::string executable_of(uint32_t pid) {
    std::string exe = link_of(pid, "exe");
    // A program replaced on disk while it runs (an upgrade) reads "/usr/sbin/x (deleted)".
    if (exe.ends_with(" (deleted)")) exe.resize(exe.size() - 10);
    return exe;
}

std::string working_directory_of(uint32_t pid) {
    return link_of(pid, "cwd");
}

} // namespace crashloop
