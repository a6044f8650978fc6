#pragma once
// Words for a POSIX shell (and for shlex.split(), which reads them the same):
// the one place crashloop quotes a command line it writes.
#include <algorithm>
#include <string>
#include <string_view>

namespace crashloop {

// 'text', with ' written as '\''; always quoted, whatever it holds.
inline std::string shell_single_quoted(std::string_view text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string_view("'\\''") : std::string_view(&c, 1);
    return out + "'";
}

// A word as a reader would type it: plain words (letters, digits and
// _-./=:,+@) as they are, anything else single-quoted.
inline std::string shell_quote(std::string_view word) {
    const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("_-./=:,+@").find(c) != std::string_view::npos;
    });
    return plain ? std::string(word) : shell_single_quoted(word);
}

} // namespace crashloop
