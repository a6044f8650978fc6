// The markdown report, for a pull request or a CI job summary: the terminal
// table's grid as a GitHub table, the summary line, then the known deviations,
// unexpected passes and failures with their reasons and evidence. Also home of
// escape_markdown(), which the compare renderer shares.
#include <fmt/format.h>
#include <string>
#include <string_view>

#include "report.hpp"

namespace crashloop {

// Every ASCII punctuation character may be backslash-escaped in CommonMark, so
// escaping is always safe: "|" would end a table cell, "<" open raw HTML, "*",
// "_", "`", "[" and GitHub's "~" start markup. A newline would end the row or list item.
std::string escape_markdown(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '\\':
        case '|':
        case '<':
        case '>':
        case '*':
        case '_':
        case '`':
        case '[':
        case ']':
        case '~':
            out += '\\';
            out += c;
            break;
        case '\r':
            break;
        case '\n':
            out += ' ';
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string render_markdown(const MatrixReport& report) {
    std::string out = "| cause \\\\ Restart= |";
    for (const auto restart : report.restarts)
        out += fmt::format(" {} |", escape_markdown(to_string(restart)));
    out += "\n|---|";
    for (std::size_t c = 0; c < report.restarts.size(); ++c)
        out += ":---:|";
    out += "\n";
    for (const auto& cause : report.causes) {
        out += fmt::format("| {} |", escape_markdown(cause));
        for (const auto restart : report.restarts) {
            const CellResult* cell = find_cell(report, restart, cause);
            out += cell != nullptr ? fmt::format(" {} |", cell_mark(*cell)) : " |";
        }
        out += "\n";
    }

    out += "\n✓ pass · ≈ known deviation · ≉ unexpected pass · ✗ fail · ERR error · n/a not "
           "applicable · the number is restarts observed, – stayed down\n";
    out += "\n" + escape_markdown(summary_line(report)) + "\n";

    out += "\n### Known deviations, unexpected passes and failures\n\n";
    bool any = false;
    for (const auto& cell : report.cells) {
        if (!needs_attention(cell.verdict)) continue;
        any = true;
        out += fmt::format("- **{}** {}: {}\n", escape_markdown(cell_id(cell)),
                           escape_markdown(to_string(cell.verdict)),
                           escape_markdown(cell_reason(cell)));
        if (!cell.evidence.empty())
            out += fmt::format("  - evidence: {}\n", escape_markdown(cell.evidence));
    }
    if (!any) out += "None.\n";
    return out;
}

} // namespace crashloop
