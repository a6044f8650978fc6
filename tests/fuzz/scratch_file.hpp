#pragma once
// The loaders read files: each fuzz input is written to a file of this process's own
// (in a private dir under $TMPDIR) and loaded from there. libFuzzer ends with _Exit, which
// skips the removal at exit: scripts/sanitize points $TMPDIR into its own work dir.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace crashloop::fuzz {

inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "crashloop-fuzz-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        std::atexit([] {
            std::error_code ignored;
            std::filesystem::remove_all(scratch_dir(), ignored);
        });
        return std::filesystem::path(pattern);
    }();
    return dir;
}

inline std::filesystem::path write_scratch(const std::string& name, std::string_view bytes) {
    const auto file = scratch_dir() / name;
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(),
                                                                  static_cast<std::streamsize>(bytes.size()));
    return file;
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

} // namespace crashloop::fuzz
