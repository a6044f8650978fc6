// What reaches a terminal from outside (a supervisor's output quoted in evidence, a file's
// line quoted in a message) cannot drive it: control bytes and bytes that are not UTF-8 are
// shown as \xNN; text, accents and newlines stay as they are.
#include <gtest/gtest.h>

#include "text.hpp"

namespace crashloop {
namespace {

TEST(Printable, plain_text_accents_and_line_breaks_stay) {
    EXPECT_EQ(printable("exit code 1; Rüdiger's café\n\tnext line"), "exit code 1; Rüdiger's café\n\tnext line");
    EXPECT_EQ(printable("\xef\xbf\xbd is a real U+FFFD"), "\xef\xbf\xbd is a real U+FFFD");
}

TEST(Printable, terminal_escapes_and_control_bytes_are_shown_not_sent) {
    EXPECT_EQ(printable("\x1b[2Jcleared"), "\\x1b[2Jcleared");
    EXPECT_EQ(printable(std::string("a\0b\r\x7f", 5)), "a\\x00b\\x0d\\x7f");
    EXPECT_EQ(printable("\xc2\x9b" "31m"), "\\xc2\\x9b31m") << "C1 CSI, UTF-8 encoded";
}

TEST(Printable, bytes_that_are_not_utf8_are_shown_one_by_one) {
    EXPECT_EQ(printable("\xff\xfe ok"), "\\xff\\xfe ok");
    EXPECT_EQ(printable("cut \xe2\x82"), "cut \\xe2\\x82");
    EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf") << "overlong '/'";
}

} // namespace
} // namespace crashloop
