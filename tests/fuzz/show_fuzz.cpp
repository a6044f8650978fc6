// `systemctl show` output (systemctl:PATH, an exec file's `state`) parsed from any text, for
// two services and a table of the supervisor's own words: states, or a SupervisorError
// saying what did not match; anything else is a crash.
#include "command_driver.hpp"
#include "errors.hpp"
#include "scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::map<std::string, std::string> words = {{"error", "failed/failed"},
                                                             {"backoff", "activating/auto-restart"}};
    try {
        crashloop::parse_show(crashloop::fuzz::as_text(data, size), {"a.service", "b.service"}, words);
    } catch (const crashloop::SupervisorError&) {
    }
    return 0;
}
