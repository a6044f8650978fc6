// The JUnit XML report, for CI test views: one <testsuite> per run, one
// <testcase classname="<restart>" name="<cause>"> per cell. A known deviation
// passes (it is listed, with its reason, in the expectations file) but says so
// in <system-out>; an unexpected pass fails, so the stale entry gets removed.
#include <algorithm>
#include <fmt/format.h>
#include <string>
#include <string_view>

#include "report.hpp"
#include "text.hpp"

namespace crashloop {

namespace {

enum class XmlContext { text, attribute };

// XML 1.0 cannot carry most C0 controls at all, not even as &#N; references
// (https://www.w3.org/TR/xml/#charsets), yet evidence may quote a terminal
// escape or a stray byte. Those are written as visible "\xNN" instead;
// invalid UTF-8 becomes U+FFFD. In attributes tab, newline and CR are written
// as references, or attribute-value normalisation would turn them into spaces.
std::string escape_xml(std::string_view text, XmlContext context) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const char32_t cp = next_codepoint(text, i);
        switch (cp) {
        case '&':
            out += "&amp;";
            continue;
        case '<':
            out += "&lt;";
            continue;
        case '>':
            out += "&gt;";
            continue;
        case '"':
            out += "&quot;";
            continue;
        case '\'':
            out += "&apos;";
            continue;
        case '\t':
        case '\n':
            if (context == XmlContext::attribute)
                out += fmt::format("&#{};", static_cast<unsigned>(cp));
            else
                out += static_cast<char>(cp);
            continue;
        case '\r':
            out += "&#13;";
            continue;
        default:
            break;
        }
        if (cp < 0x20 || cp == 0xfffe || cp == 0xffff)
            out += fmt::format("\\x{:02x}", static_cast<unsigned>(cp & 0xffU));
        else
            append_utf8(out, cp);
    }
    return out;
}

std::string attr(std::string_view text) {
    return escape_xml(text, XmlContext::attribute);
}
std::string body(std::string_view text) {
    return escape_xml(text, XmlContext::text);
}

std::string seconds(std::chrono::milliseconds duration) {
    return fmt::format("{:.3f}", static_cast<double>(duration.count()) / 1000.0);
}

std::string testcase(const CellResult& cell) {
    std::string out =
        fmt::format("  <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
                    attr(to_string(cell.restart)), attr(cell.cause), seconds(cell.duration));
    std::string inner;
    switch (cell.verdict) {
    case Verdict::pass:
        if (!cell.evidence.empty())
            inner = fmt::format("    <system-out>{}</system-out>\n", body(cell.evidence));
        break;
    case Verdict::fail: {
        const std::string message = cell.reason.empty()
                                        ? expected_vs_observed(cell)
                                        : cell.reason + " (" + expected_vs_observed(cell) + ")";
        inner = fmt::format("    <failure message=\"{}\" type=\"fail\">{}</failure>\n",
                            attr(message), body(cell.evidence));
        break;
    }
    case Verdict::unexpected_pass: {
        // The runner's reason names the entry (file:line); a hand-made cell may lack it.
        const std::string message =
            cell.reason.empty() ? "listed as a known deviation but now agrees with the manual"
                                : cell.reason;
        inner = fmt::format("    <failure message=\"{}\" type=\"unexpected-pass\">{}</failure>\n",
                            attr(message), body(cell.evidence));
        break;
    }
    case Verdict::error:
        inner = fmt::format("    <error message=\"{}\" type=\"error\">{}</error>\n",
                            attr(cell.reason), body(cell.evidence));
        break;
    case Verdict::not_applicable:
        inner = fmt::format("    <skipped message=\"{}\"/>\n", attr(cell.reason));
        break;
    case Verdict::known_deviation: {
        std::string text = "known deviation: " + cell.reason;
        if (!cell.evidence.empty()) text += "\nevidence: " + cell.evidence;
        inner = fmt::format("    <system-out>{}</system-out>\n", body(text));
        break;
    }
    }
    if (inner.empty()) return out + "/>\n";
    return out + ">\n" + inner + "  </testcase>\n";
}

} // namespace

std::string render_junit(const MatrixReport& report) {
    const auto count = [&](Verdict verdict) {
        return std::count_if(report.cells.begin(), report.cells.end(),
                             [&](const CellResult& cell) { return cell.verdict == verdict; });
    };
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += fmt::format("<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
                       "skipped=\"{}\" time=\"{}\">\n",
                       attr("crashloop." + report.supervisor), report.cells.size(),
                       count(Verdict::fail) + count(Verdict::unexpected_pass),
                       count(Verdict::error), count(Verdict::not_applicable), seconds(report.wall));
    out += "  <properties>\n";
    out += fmt::format("    <property name=\"supervisor_version\" value=\"{}\"/>\n",
                       attr(report.supervisor_version));
    out += fmt::format("    <property name=\"expectations\" value=\"{}\"/>\n",
                       attr(report.expectations_file));
    out += fmt::format("    <property name=\"retried\" value=\"{}\"/>\n", retried_cells(report));
    out += "  </properties>\n";
    for (const auto& cell : report.cells)
        out += testcase(cell);
    out += "</testsuite>\n";
    return out;
}

} // namespace crashloop
