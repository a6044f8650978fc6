// The scenario loaders on any bytes: the exit causes (causes.toml), an expectation file and
// an exec file of a supervisor; each loads, or says what is wrong in an InputError naming
// the file and line; anything else is a crash. Input: one byte choosing the loader, then the
// file.
#include "command_driver.hpp"
#include "errors.hpp"
#include "exit_cause.hpp"
#include "expectations.hpp"
#include "scratch_file.hpp"

using namespace crashloop;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view text = fuzz::as_text(data + 1, size - 1);
    try {
        switch (data[0] % 3) {
        case 0: load_exit_causes(fuzz::write_scratch("causes.toml", text)); break;
        case 1: Expectations::load(fuzz::write_scratch("expectations.toml", text)); break;
        case 2: load_exec_commands(fuzz::write_scratch("supervisor.toml", text), CRASHLOOP_SCENARIOS_DIR); break;
        }
    } catch (const InputError&) {
    }
    return 0;
}
