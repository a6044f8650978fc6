// The text check before toml++ reads a scenario file (harness/base/toml_input.hpp): what
// Debian's toml++ 3.3.0 mishandles is refused with the file and the line, and nothing valid
// is.
#include <gtest/gtest.h>

#include <string>

#include "errors.hpp"
#include "temp_dir.hpp"
#include "toml_input.hpp"

using namespace crashloop;

namespace {

// "line: message" of the InputError the text makes, or "" when it passes.
std::string refusal(const std::string& text) {
    try {
        check_toml_text(text, "f.toml");
    } catch (const InputError& e) {
        EXPECT_EQ(e.file(), "f.toml");
        return std::to_string(e.line()) + ": " + e.what();
    }
    return "";
}

} // namespace

TEST(TomlText, a_bare_key_with_a_non_ascii_letter_is_refused_before_toml_reads_it) {
    const std::string r = refusal("a = 1\n\xC3\xA9 = 2\n");
    EXPECT_EQ(r.rfind("2: ", 0), 0u) << r;
    EXPECT_NE(r.find("expected ASCII outside strings and comments"), std::string::npos) << r;
    EXPECT_NE(r.find("byte 0xC3"), std::string::npos) << r;
    EXPECT_NE(refusal("[t\xC3\xA9]\n"), "");
    EXPECT_NE(refusal("x = 1 \xE2\x80\x8B\n"), "") << "a zero-width space after a value";
}

TEST(TomlText, a_table_header_that_does_not_close_on_its_line_is_refused) {
    const std::string r = refusal("[\n");
    EXPECT_EQ(r.rfind("1: ", 0), 0u) << r;
    EXPECT_NE(r.find("table header"), std::string::npos) << r;
    EXPECT_NE(refusal("a = 1\n  [[deviation\ncause = \"x\"\n"), "");
    // A header that closes but opens with no key trips the same assertion of toml++.
    for (const char* header : {"[#]\n", "[ =]\n", "[.a]\n", "[,]\n", "[[ [x]]\n"})
        EXPECT_NE(refusal(header), "") << header;
    EXPECT_EQ(refusal("[ \"quoted key\" ]\n[[ a.b ]]\n['lit']\n[-x_1]\n"), "");
}

TEST(TomlText, non_ascii_in_strings_and_comments_and_brackets_in_strings_are_fine) {
    EXPECT_EQ(refusal("\"\xC3\xA9\" = 2\n"), "");
    EXPECT_EQ(refusal("reason = \"caf\xC3\xA9 \\\"quoted\\\" [x\"  # \xC3\xA9t\xC3\xA9\n"), "");
    EXPECT_EQ(refusal("s = 'it''s'\n"), "") << "two literal strings in a row are toml's to judge";
    EXPECT_EQ(refusal("s = '''\n[not a header\n\xC3\xA9'''\nt = \"\"\"\n[ \\\n x\"\"\"\"\n"), "");
    EXPECT_EQ(refusal("[[deviation]]\ncause = \"sigabrt\"\n[states]\n"), "");
    EXPECT_EQ(refusal("a = [\n  1,\n  2,\n]\n"), "") << "an array is not a header";
    EXPECT_EQ(refusal("a = [\n  [\n    1\n  ],\n  [2],\n]\n[t]\n"), "") << "nor is an inner array";
}

TEST(TomlText, a_byte_order_mark_is_not_a_non_ascii_key) {
    EXPECT_EQ(refusal("\xEF\xBB\xBF" "a = 1\n"), "");
}

TEST(TomlText, a_string_left_open_at_the_end_of_its_line_is_refused) {
    EXPECT_EQ(refusal("a = \"open\nb = 1\n").rfind("1: ", 0), 0u);
}

// The shipped loaders go through it: the file and the line reach the user.
TEST(TomlText, parse_toml_checks_the_text_first) {
    TempDir dir;
    const auto file = dir.write("x.toml", "ok = 1\n\xC3\xA9 = 2\n");
    try {
        parse_toml(file);
        FAIL() << "accepted";
    } catch (const InputError& e) {
        EXPECT_EQ(e.file(), file.string());
        EXPECT_EQ(e.line(), 2);
    }
}
