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
toml::table parse_toml(const std::filesystem::path& file);
// A typo in a key is an error, not a silently ignored setting.
void reject_unknown_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                         const std::string& file, std::string_view where);

} // namespace crashloop
