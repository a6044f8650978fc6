#include "toml_input.hpp"

#include <algorithm>
#include <sstream>

#include "errors.hpp"

namespace crashloop {

int line_of(const toml::node& node) {
    return static_cast<int>(node.source().begin.line);
}

std::string shown(const toml::node& node) {
    if (const auto* text = node.as_string()) return "'" + text->get() + "'";
    if (const auto* number = node.as_integer()) return std::to_string(number->get());
    std::ostringstream out;
    out << node.type();
    return out.str();
}

toml::table parse_toml(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
        throw InputError(file.string(), 0, "expected a readable TOML file, got nothing there");
    try {
        return toml::parse_file(file.string());
    } catch (const toml::parse_error& err) {
        throw InputError(file.string(), static_cast<int>(err.source().begin.line),
                         "expected valid TOML: " + std::string(err.description()));
    }
}

void reject_unknown_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                         const std::string& file, std::string_view where) {
    for (auto&& [key, node] : table) {
        if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
        std::string expected;
        for (auto name : known)
            expected += (expected.empty() ? "" : ", ") + std::string(name);
        throw InputError(file, static_cast<int>(key.source().begin.line),
                         "expected a key of " + std::string(where) + " (" + expected + "), got '" +
                             std::string(key.str()) + "'");
    }
}

} // namespace crashloop
