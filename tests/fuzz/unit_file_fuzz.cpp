// The unit-file and drop-in parser, and the service settings read from them, on any bytes:
// a unit, or an InputError naming the file and line; anything else is a crash.
// Input: the unit, then (after the first NUL byte, if any) one drop-in.
#include "errors.hpp"
#include "scratch_file.hpp"
#include "service_settings.hpp"
#include "unit_file.hpp"

using namespace crashloop;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input = fuzz::as_text(data, size);
    const auto nul = input.find('\0');
    const auto unit = fuzz::write_scratch("fuzz.service", input.substr(0, nul));
    std::vector<std::filesystem::path> dropins;
    if (nul != std::string_view::npos)
        dropins.push_back(fuzz::write_scratch("override.conf", input.substr(nul + 1)));
    try {
        service_settings(UnitFile::load(unit, dropins));
    } catch (const InputError&) {
    }
    return 0;
}
