#pragma once
// A fresh directory from mkdtemp(), removed with everything in it when the test ends: one for
// every test.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

class TempDir {
  public:
    // `what` names it (crashloop-WHAT-XXXXXX); others_may_enter lets a daemon that drops
    // privileges (Apache's workers, as www-data) reach what is inside.
    explicit TempDir(const std::string& what = "unit-test", bool others_may_enter = false) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / ("crashloop-" + what + "-XXXXXX")).string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
        namespace fs = std::filesystem;
        if (others_may_enter)
            fs::permissions(path_, fs::perms::owner_all | fs::perms::group_read |
                                       fs::perms::group_exec | fs::perms::others_read |
                                       fs::perms::others_exec);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::filesystem::path write(const std::string& name, const std::string& text) const {
        std::filesystem::path file = path_ / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << text;
        return file;
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};
