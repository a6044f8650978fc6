#pragma once
// Text from outside (a supervisor's output, a file's bytes) on its way to a terminal or a
// report: UTF-8 decoded one code point at a time, and control bytes made visible.
#include <string>
#include <string_view>

namespace crashloop {

// Decodes one UTF-8 sequence at text[i]; returns the code point and advances i,
// or returns U+FFFD for a malformed or overlong sequence and skips one byte.
char32_t next_codepoint(std::string_view text, std::size_t& i);
void append_utf8(std::string& out, char32_t cp);

// The text as a terminal may show it: control characters (C0 but newline and tab, DEL, C1)
// and bytes that are not UTF-8 written as "\xNN", so a message quoting a supervisor's
// output or a file's line can neither drive the terminal (an escape sequence) nor hide.
std::string printable(std::string_view text);

} // namespace crashloop
