#pragma once
// A systemd unit file and its drop-ins, read the way systemd reads them
// (src/shared/conf-parser.c, systemd.syntax(7), systemd.unit(5)): the unit
// first, then each drop-in in order, later assignments winning. Every
// assignment is kept with its file and line so that a message can point at the
// line an operator has to change.
//
// Where crashloop is stricter than systemd, on purpose: a line without '=', an
// assignment before any section and an unterminated section header are
// errors here (systemd 252 logs a warning and drops the line), since a checker
// that silently drops a line checks a different unit from the one the
// operator meant.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crashloop {

// One `Key=Value` line. `value` has its specifiers expanded; `line` is the line
// the key is on (systemd's own messages name the last line of a continued
// line, this names the first).
struct Assignment {
    std::string value;
    std::string file;
    int line = 0;
};
std::string where(const Assignment& assignment); // "override.conf:2"

// `<unit>.d/*.conf` in the order systemd applies them (by file name); empty
// when there is no such folder.
std::vector<std::filesystem::path> dropins_in(const std::filesystem::path& unit);

class UnitFile {
  public:
    // Reads the unit, then each drop-in in the order given. A missing file or a
    // malformed line is an InputError naming the file and the line.
    static UnitFile load(const std::filesystem::path& unit,
                         const std::vector<std::filesystem::path>& dropins);

    // The assignment in force for a single-value key: the last one, or nullopt
    // when the key is unset or an empty assignment reset it to its default.
    // For a list key: the last entry of list().
    std::optional<Assignment> last(std::string_view section, std::string_view key) const;
    // The entries in force for a list key (ExecStartPre=, SuccessExitStatus=,
    // Environment=, After= …), one per assignment, in order; an empty
    // assignment drops those before it (except on dependency keys such as
    // After=, where systemd ignores it). For a single-value key: last(), if any.
    std::vector<Assignment> list(std::string_view section, std::string_view key) const;
    // Every assignment of the key, empty ones included, in the order applied.
    std::vector<Assignment> all(std::string_view section, std::string_view key) const;

    // Every assignment of every key, in the order systemd applies them.
    struct Entry {
        std::string section;
        std::string key;
        Assignment assignment;
    };
    const std::vector<Entry>& entries() const { return entries_; }

    const std::string& name() const { return name_; } // "httpd.service"
    const std::vector<std::string>& files() const { return files_; }
    // "file:line: unknown key 'Foo' in [Service], ignored" and the like; never printed here.
    const std::vector<std::string>& warnings() const { return warnings_; }

  private:
    void read(const std::filesystem::path& path);
    std::string expand_specifiers(std::string_view value, const std::string& file, int line);

    std::string name_;
    std::vector<std::string> files_;
    std::vector<Entry> entries_;
    std::vector<std::string> warnings_;
    std::vector<char> warned_specifiers_;
};

} // namespace crashloop
