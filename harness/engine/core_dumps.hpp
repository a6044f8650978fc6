#pragma once
// Where the kernel puts a crashing daemon's core, finding the one a crash left, and its
// backtrace. The host's core_pattern is read, never changed: where it pipes cores to a
// handler (systemd-coredump, apport), the report says where to find them instead.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace crashloop {

struct CorePattern {
    std::string text;      // /proc/sys/kernel/core_pattern, as read
    bool piped = false;    // "|/lib/systemd/systemd-coredump %P …": a handler takes the core
    bool uses_pid = false; // /proc/sys/kernel/core_uses_pid: ".PID" appended when %p is absent
};

CorePattern read_core_pattern();
// The pattern from its two values (read_core_pattern's work, apart for the tests).
CorePattern core_pattern_of(std::string text, bool uses_pid);

// Where cores go, in words, with how to get at them when crashloop cannot.
std::string where_cores_go(const CorePattern& pattern);

// The folder a core goes to, when the pattern names one (absolute and without %); else the
// crashing process's working directory, for the caller to supply.
std::optional<std::filesystem::path> pattern_folder(const CorePattern& pattern);

// Does `name` match the pattern's file name for this process (pid, signal number)?
bool core_name_matches(const CorePattern& pattern, const std::string& name, uint32_t pid, int signo);

// The newest file in `folders` the pattern names for this process, written at or after
// `since`; nullopt when the pattern pipes cores elsewhere or none is there.
std::optional<std::filesystem::path> find_core(const CorePattern& pattern, uint32_t pid, int signo,
                                               const std::vector<std::filesystem::path>& folders,
                                               std::filesystem::file_time_type since);

// Moves (or copies, across file systems) a core to `to`; the error in words, or "".
std::string keep_core(const std::filesystem::path& core, const std::filesystem::path& to);

// The crashing thread's backtrace, from `gdb -batch` on the program and its core: "#0 …"
// lines. When gdb is missing or fails, `note` says so and how to get one.
struct Backtrace {
    std::vector<std::string> frames;
    std::string note;
};
Backtrace backtrace_of(const std::filesystem::path& program, const std::filesystem::path& core,
                       int interrupt_fd);

} // namespace crashloop
