#pragma once
// Reading scenario TOML (toml++) so that every complaint names the file, the
// line and what was expected there. Shared by the table, the causes and the
// expectations loaders.
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace crashloop {

int line_of(const toml::node& node);
// "'on-falure'" for a string, "256" for an integer, "table" … for anything else.
std::string shown(const toml::node& node);
// Parses a whole file; a missing file or a syntax error is an InputError.
// The text is checked first (check_toml_text) so that toml++ never sees what
// it mishandles.
toml::table parse_toml(const std::filesystem::path& file);
// What Debian's toml++ 3.3.0 does not survive, refused before it reads a byte:
// a byte outside ASCII where no string or comment holds it (a bare key with a
// non-ASCII letter, `é = 2`, reaches an "unreachable" point of its unicode
// tables: undefined behaviour) and a table header that does not close on its
// own line (`[` then a newline fails one of its assertions). Both are
// invalid TOML 1.0 anyway. Throws InputError naming the file and the line.
void check_toml_text(std::string_view text, const std::string& file);
// A typo in a key is an error, not a silently ignored setting.
void reject_unknown_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                         const std::string& file, std::string_view where);

} // namespace crashloop
