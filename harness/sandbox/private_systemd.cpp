#include "private_systemd.hpp"
#include "log.hpp"

#include "keeper.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace crashloop {

namespace {
std::shared_ptr<spdlog::logger> logger() { return crashloop::logger("systemd"); }

} // namespace

PrivateSystemd::PrivateSystemd(const Options& options) {
    if (!std::filesystem::exists(options.keeper))
        throw SupervisorError("crashloop-sandbox not found at " + options.keeper.string());
    if (!std::filesystem::exists(options.systemd))
        throw SupervisorError("systemd not found at " + options.systemd.string() +
                              " (install Debian's systemd package)");
    // The keeper prints "ready <manager pid>" once systemd has sent READY=1
    // (and gives up by itself a little before this deadline).
    keeper_ = std::make_unique<Keeper>(
        options.keeper, std::vector<std::string>{"--systemd", options.systemd.string(), "--log-level", options.log_level},
        options.ready_timeout, "private systemd");
    logger()->debug("private systemd ready: keeper pid {}, manager pid {}", keeper_->pid(), keeper_->ready_words());
}

PrivateSystemd::~PrivateSystemd() = default;

std::string PrivateSystemd::bus_address() const {
    return "unix:path=" + from_host("/run/crashloop/runtime/systemd/private").string();
}

std::filesystem::path PrivateSystemd::from_host(const std::filesystem::path& inside) const {
    return "/proc/" + std::to_string(keeper_->pid()) + "/root" + inside.string();
}

int PrivateSystemd::keeper_pid() const { return keeper_->pid(); }

namespace {

// The folder of the running executable ("" when /proc cannot say).
std::filesystem::path own_folder() {
    std::error_code error;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? std::filesystem::path() : self.parent_path();
}

} // namespace

std::filesystem::path libexec_dir() {
    if (const char* dir = std::getenv("CRASHLOOP_LIBEXEC_DIR"); dir && *dir) return dir;
    const auto own = own_folder();
    if (!own.empty()) {
        // Next to our own executable: a build tree, or a copied build.
        if (std::filesystem::exists(own / "fake-httpd")) return own;
        // Installed: <prefix>/bin/crashloop and <prefix>/libexec/crashloop/.
        const auto installed = (own / CRASHLOOP_LIBEXEC_FROM_BIN).lexically_normal();
        if (std::filesystem::exists(installed / "fake-httpd")) return installed;
    }
    return CRASHLOOP_LIBEXEC_DIR;
}

std::filesystem::path scenarios_dir() {
    if (const char* dir = std::getenv("CRASHLOOP_SCENARIOS_DIR"); dir && *dir) return dir;
    // Installed: <prefix>/bin/crashloop and <prefix>/share/crashloop/scenarios/; a build tree
    // reads the source tree's.
    if (const auto own = own_folder(); !own.empty()) {
        const auto installed = (own / CRASHLOOP_SCENARIOS_FROM_BIN).lexically_normal();
        if (std::filesystem::exists(installed / "table.toml")) return installed;
    }
    return CRASHLOOP_SCENARIOS_DIR;
}

} // namespace crashloop
