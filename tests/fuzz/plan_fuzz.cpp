// The fake httpd's plan grammar on any text: a plan, or a PlanError saying what was
// expected; anything else is a crash.
#include "plan.hpp"
#include "scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        crashloop::plan::parse_plan(crashloop::fuzz::as_text(data, size));
    } catch (const crashloop::plan::PlanError&) {
    }
    return 0;
}
