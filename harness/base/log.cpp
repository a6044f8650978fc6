#include "log.hpp"

#include <map>
#include <mutex>
#include <string>

namespace crashloop {

std::shared_ptr<spdlog::logger> logger(const char* component) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<spdlog::logger>> known;
    std::lock_guard lock(mutex);
    auto& log = known[component];
    if (!log) {
        log = spdlog::get(component);
        if (!log) log = spdlog::default_logger()->clone(component);
    }
    return log;
}

} // namespace crashloop
