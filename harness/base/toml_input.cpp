#include "toml_input.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
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

namespace {

std::string byte_text(unsigned char c) {
    static const char* const hex = "0123456789ABCDEF";
    return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
}

// The bytes after the first of a multi-line string's closing quotes: two more, and up to two
// quotes of the string's own right before them (`""""` ends a string holding one `"`).
size_t closing(std::string_view rest) {
    size_t n = 3;
    while (n < 5 && n < rest.size() && rest[n] == rest[0]) ++n;
    return n - 1;
}

} // namespace

void check_toml_text(std::string_view text, const std::string& file) {
    enum class In { code, comment, basic, literal, multi_basic, multi_literal } in = In::code;
    int line = 1;
    bool line_start = true;   // only blanks so far on this line, outside any string
    int arrays = 0;           // array values open: a '[' starting a line inside one is no header
    bool header_open = false; // this line is a table header
    // A UTF-8 byte order mark opens a file harmlessly (toml++ skips it too).
    for (size_t i = text.starts_with("\xEF\xBB\xBF") ? 3 : 0; i < text.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        const std::string_view rest = text.substr(i);
        if (c == '\n') {
            ++line;
            if (in == In::comment) in = In::code;
            if (in == In::basic || in == In::literal)
                throw InputError(file, line - 1, "expected valid TOML: a string closed on its own line, got one left open");
            line_start = in == In::code;
            header_open = false;
            continue;
        }
        switch (in) {
        case In::comment:
            break;
        case In::basic:
            if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') ++i; // escaped
            else if (c == '"') in = In::code;
            break;
        case In::literal:
            if (c == '\'') in = In::code;
            break;
        case In::multi_basic:
            if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') ++i;
            else if (rest.starts_with("\"\"\"")) in = In::code, i += closing(rest);
            break;
        case In::multi_literal:
            if (rest.starts_with("\'\'\'")) in = In::code, i += closing(rest);
            break;
        case In::code:
            if (c == '#') in = In::comment;
            else if (rest.starts_with("\"\"\"")) in = In::multi_basic, i += 2;
            else if (rest.starts_with("\'\'\'")) in = In::multi_literal, i += 2;
            else if (c == '"') in = In::basic;
            else if (c == '\'') in = In::literal;
            else if (c >= 0x80)
                throw InputError(file, line,
                                 "expected ASCII outside strings and comments (quote a key "
                                 "that is not: \"é\" = 2), got " + byte_text(c));
            else if (c == '[' && line_start && arrays == 0) {
                const size_t end = rest.find('\n');
                const std::string_view header = rest.substr(0, end);
                // A key must open it (toml++ asserts so before it looks), and a ']' close it.
                size_t key = header.starts_with("[[") ? 2 : 1;
                while (key < header.size() && (header[key] == ' ' || header[key] == '\t')) ++key;
                const char first = key < header.size() ? header[key] : '\0';
                const bool opens = std::isalnum(static_cast<unsigned char>(first)) || first == '_' ||
                                   first == '-' || first == '"' || first == '\'';
                if (!opens || header.find(']') == std::string_view::npos)
                    throw InputError(file, line,
                                     "expected a table header [name] closed on its own line, got '" +
                                         std::string(header.substr(0, 40)) + "'");
                header_open = true;
            } else if (c == '[' && !header_open)
                ++arrays; // an array value, which may span lines
            else if (c == ']' && arrays > 0)
                --arrays;
            if (c != ' ' && c != '\t' && c != '\r') line_start = false;
            break;
        }
    }
}

toml::table parse_toml(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
        throw InputError(file.string(), 0, "expected a readable TOML file, got nothing there");
    std::ifstream in(file, std::ios::binary);
    std::stringstream whole;
    whole << in.rdbuf();
    if (!in.good() && !in.eof())
        throw InputError(file.string(), 0, "expected a readable TOML file, got a read error");
    const std::string text = whole.str();
    check_toml_text(text, file.string());
    try {
        return toml::parse(text, file.string());
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
