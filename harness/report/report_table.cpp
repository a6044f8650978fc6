// The terminal report: Table 2 of systemd.service(5) as observed, Restart=
// values across and exit causes down, then what a reader should look at.
// Also home of the format vocabulary, render() and the helpers the markdown
// and compare renderers share (Table 2's grid among them).
#include <algorithm>
#include <map>
#include <array>
#include <cstddef>
#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <string_view>
#include <vector>

#include "report.hpp"
#include "text.hpp"

namespace crashloop {

namespace {

struct FormatName {
    ReportFormat format;
    std::string_view name;
};
constexpr std::array<FormatName, 4> format_names = {{
    {ReportFormat::table, "table"},
    {ReportFormat::json, "json"},
    {ReportFormat::junit, "junit"},
    {ReportFormat::markdown, "markdown"},
}};

constexpr std::string_view sgr_reset = "\x1b[0m";

std::string paint(std::string_view text, Verdict verdict, bool colour) {
    return paint_sgr(text, verdict_sgr(verdict), colour);
}

// Columns a code point takes in a terminal: 0 for controls, combining marks and
// zero-width characters, 2 for East Asian wide and fullwidth ones and emoji, 1
// otherwise. Ambiguous-width characters (≈, –) count 1, as in every non-CJK
// locale. A cut-down wcwidth(3) that does not depend on the process's locale.
int codepoint_width(char32_t cp) {
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
    if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
        (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x200b && cp <= 0x200f) ||
        (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe00 && cp <= 0xfe0f) ||
        (cp >= 0xfe20 && cp <= 0xfe2f))
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) ||
        (cp >= 0x3041 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
        (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
        (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) ||
        (cp >= 0x1f300 && cp <= 0x1f64f) || (cp >= 0x1f900 && cp <= 0x1f9ff) ||
        (cp >= 0x20000 && cp <= 0x3fffd))
        return 2;
    return 1;
}

std::string repeat(std::string_view unit, std::size_t times) {
    std::string out;
    for (std::size_t i = 0; i < times; ++i)
        out += unit;
    return out;
}

// Ends a grid line; a missing cell at the end of a row leaves no trailing blanks.
void end_line(std::string& out) {
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    out += "\n";
}

constexpr std::string_view corner = "cause \\ Restart=";
constexpr std::string_view gap = "  ";

std::string legend(bool colour) {
    return fmt::format(
        "{} pass  {} known deviation  {} unexpected pass  {} fail  {} error  "
        "{} not applicable"
        " · the number is restarts observed, – stayed down\n",
        paint("✓", Verdict::pass, colour), paint("≈", Verdict::known_deviation, colour),
        paint("≉", Verdict::unexpected_pass, colour), paint("✗", Verdict::fail, colour),
        paint("ERR", Verdict::error, colour), paint("n/a", Verdict::not_applicable, colour));
}

} // namespace

// SGR sequences; the colours follow the verdict, never the cell's position.
std::string_view verdict_sgr(Verdict verdict) {
    switch (verdict) {
    case Verdict::pass:
        return "\x1b[32m"; // green
    case Verdict::fail:
        return "\x1b[1;31m"; // red, bold
    case Verdict::known_deviation:
        return "\x1b[33m"; // yellow
    case Verdict::unexpected_pass:
        return "\x1b[1;36m"; // cyan, bold: the expectations file is out of date
    case Verdict::error:
        return "\x1b[35m"; // magenta
    case Verdict::not_applicable:
        return "\x1b[2m"; // dim
    }
    return "";
}

std::string paint_sgr(std::string_view text, std::string_view sgr, bool colour) {
    if (!colour || text.empty() || sgr.empty()) return std::string(text);
    return fmt::format("{}{}{}", sgr, text, sgr_reset);
}

// Display width of UTF-8 text; a byte that does not start a valid sequence
// counts as one column (the terminal shows a replacement character for it).
std::size_t display_width(std::string_view text) {
    std::size_t width = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = 1;
        char32_t cp = lead;
        if (lead >= 0xc0 && lead < 0xe0) {
            length = 2;
            cp = lead & 0x1fU;
        } else if (lead >= 0xe0 && lead < 0xf0) {
            length = 3;
            cp = lead & 0x0fU;
        } else if (lead >= 0xf0 && lead < 0xf8) {
            length = 4;
            cp = lead & 0x07U;
        } else if (lead >= 0x80) {
            width += 1;
            i += 1;
            continue;
        }
        bool valid = i + length <= text.size();
        for (std::size_t k = 1; valid && k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            valid = (next & 0xc0U) == 0x80U;
            cp = (cp << 6U) | (next & 0x3fU);
        }
        if (!valid) {
            width += 1;
            i += 1;
            continue;
        }
        width += static_cast<std::size_t>(codepoint_width(cp));
        i += length;
    }
    return width;
}

std::string pad_to_width(std::string_view text, std::size_t width) {
    const std::size_t used = display_width(text);
    return std::string(text) + std::string(width > used ? width - used : 0, ' ');
}

// Widths are measured before colouring so escapes never count; the last
// column is not padded.
std::string render_table2_grid(const std::vector<RestartValue>& restarts,
                               const std::vector<std::string>& causes, const GridCellOf& cell_of,
                               bool colour) {
    // Each cell asked once: the function may be costly (compare builds text per cell).
    std::vector<std::vector<std::optional<GridCell>>> cells;
    for (const auto& cause : causes) {
        auto& row = cells.emplace_back();
        for (const auto restart : restarts)
            row.push_back(cell_of(restart, cause));
    }

    std::size_t first_width = display_width(corner);
    for (const auto& cause : causes)
        first_width = std::max(first_width, display_width(cause));

    std::vector<std::size_t> widths;
    for (std::size_t c = 0; c < restarts.size(); ++c) {
        std::size_t width = display_width(to_string(restarts[c]));
        for (const auto& row : cells)
            if (row[c]) width = std::max(width, display_width(row[c]->text));
        widths.push_back(width);
    }

    std::string out;
    out += pad_to_width(corner, first_width);
    for (std::size_t c = 0; c < widths.size(); ++c) {
        out += gap;
        const auto name = to_string(restarts[c]);
        out += c + 1 < widths.size() ? pad_to_width(name, widths[c]) : std::string(name);
    }
    end_line(out);
    out += repeat("─", first_width);
    for (const auto width : widths)
        out += std::string(gap) + repeat("─", width);
    end_line(out);
    for (std::size_t r = 0; r < causes.size(); ++r) {
        out += pad_to_width(causes[r], first_width);
        for (std::size_t c = 0; c < widths.size(); ++c) {
            out += gap;
            const auto& cell = cells[r][c];
            const std::string text = cell ? cell->text : "";
            if (cell) out += paint_sgr(text, cell->sgr, colour);
            if (c + 1 < widths.size()) out += std::string(widths[c] - display_width(text), ' ');
        }
        end_line(out);
    }
    return out;
}

std::string restart_summary(const CellResult& cell) {
    const Observation& observed = cell.observed;
    const bool counted = std::find(cell.unchecked.begin(), cell.unchecked.end(),
                                   "restart count") == cell.unchecked.end();
    const std::string supervisor =
        counted ? fmt::format("supervisor {}", observed.supervisor_restarts) : "supervisor: no count";
    if (!observed.restarted) return fmt::format("stayed down ({})", supervisor);
    std::string out = fmt::format("restarted {} ({})", observed.restarts, supervisor);
    if (observed.delay_ms) out += fmt::format(" after {} ms", *observed.delay_ms);
    return out;
}

std::string supervisor_label(const MatrixReport& report) {
    if (report.supervisor_version.empty()) return report.supervisor;
    return report.supervisor + " " + report.supervisor_version;
}

std::string_view to_string(ReportFormat format) {
    for (const auto& entry : format_names)
        if (entry.format == format) return entry.name;
    return "table";
}

std::optional<ReportFormat> parse_report_format(std::string_view text) {
    for (const auto& entry : format_names)
        if (entry.name == text) return entry.format;
    return std::nullopt;
}

std::string render(const MatrixReport& report, ReportFormat format, bool colour,
                   bool show_evidence) {
    switch (format) {
    case ReportFormat::table:
        return render_table(report, colour, show_evidence);
    case ReportFormat::json:
        return render_json(report);
    case ReportFormat::junit:
        return render_junit(report);
    case ReportFormat::markdown:
        return render_markdown(report);
    }
    return render_table(report, colour, show_evidence);
}

const CellResult* find_cell(const MatrixReport& report, RestartValue restart,
                            std::string_view cause) {
    for (const auto& cell : report.cells)
        if (cell.restart == restart && cell.cause == cause) return &cell;
    return nullptr;
}

std::string cell_id(const CellResult& cell) {
    return fmt::format("{}/{}", to_string(cell.restart), cell.cause);
}

std::string cell_mark(const CellResult& cell) {
    std::string_view symbol;
    switch (cell.verdict) {
    case Verdict::pass:
        symbol = "✓";
        break;
    case Verdict::fail:
        symbol = "✗";
        break;
    case Verdict::known_deviation:
        symbol = "≈";
        break;
    case Verdict::unexpected_pass:
        symbol = "≉";
        break;
    case Verdict::not_applicable:
        return "n/a";
    case Verdict::error:
        return "ERR";
    }
    const Observation& observed = cell.observed;
    // The restarts observed: the fixture's own count (systemd's NRestarts is
    // cross-checked by the runner). A fail that stayed down says "0": the
    // restart the manual promised is missing.
    if (observed.restarted) return fmt::format("{} {}", symbol, observed.restarts);
    return fmt::format("{} {}", symbol, cell.verdict == Verdict::fail ? "0" : "–");
}

long retried_cells(const MatrixReport& report) {
    return std::count_if(report.cells.begin(), report.cells.end(),
                         [](const CellResult& cell) { return cell.retries > 0; });
}

// "12 cells judged without the supervisor's restart count", one per kind of evidence missing.
std::string unchecked_text(const MatrixReport& report) {
    std::map<std::string, long> cells;
    for (const auto& cell : report.cells)
        for (const auto& what : cell.unchecked) ++cells[what];
    std::string text;
    for (const auto& [what, count] : cells)
        text += fmt::format("; {} cell(s) judged without {}'s {}", count, report.supervisor, what);
    return text;
}

std::string summary_line(const MatrixReport& report) {
    const auto count = [&](Verdict verdict) {
        return std::count_if(report.cells.begin(), report.cells.end(),
                             [&](const CellResult& cell) { return cell.verdict == verdict; });
    };
    // Shown only when there is one, so the usual line stays the one README quotes.
    const auto unexpected = count(Verdict::unexpected_pass);
    const std::string unexpected_text =
        unexpected == 0 ? "" : fmt::format(", {} unexpected-pass", unexpected);
    // A verdict reached only on a later attempt is said here, not only in its evidence.
    const auto retried = retried_cells(report);
    const std::string retried_text = retried == 0 ? "" : fmt::format(", {} retried", retried);
    return fmt::format("{} cells: {} pass, {} known-deviation{}, {} fail, {} error, {} n/a{} — {} "
                       "ms wall on {}",
                       report.cells.size(), count(Verdict::pass), count(Verdict::known_deviation),
                       unexpected_text, count(Verdict::fail), count(Verdict::error),
                       count(Verdict::not_applicable), retried_text, report.wall.count(),
                       printable(supervisor_label(report))) +
           unchecked_text(report);
}

std::string expected_vs_observed(const CellResult& cell) {
    const int restarts = cell.observed.restarts;
    const std::string observed = !cell.observed.restarted ? "none"
                                 : restarts == 1          ? "1 restart"
                                                          : fmt::format("{} restarts", restarts);
    return fmt::format("expected {}, observed {}",
                       cell.expected_restarted ? "restart" : "no restart", observed);
}

bool needs_attention(Verdict verdict) {
    return verdict == Verdict::fail || verdict == Verdict::error ||
           verdict == Verdict::known_deviation || verdict == Verdict::unexpected_pass;
}

std::string cell_reason(const CellResult& cell) {
    if (cell.reason.empty() && cell.verdict == Verdict::fail) return expected_vs_observed(cell);
    return cell.reason;
}

std::string render_table(const MatrixReport& report, bool colour, bool show_evidence) {
    std::string out = render_table2_grid(
        report.restarts, report.causes,
        [&](RestartValue restart, const std::string& cause) -> std::optional<GridCell> {
            const CellResult* cell = find_cell(report, restart, cause);
            if (cell == nullptr) return std::nullopt;
            return GridCell{cell_mark(*cell), verdict_sgr(cell->verdict)};
        },
        colour);
    out += "\n";
    out += legend(colour);
    out += summary_line(report) + "\n";

    bool first = true;
    for (const auto& cell : report.cells) {
        if (!needs_attention(cell.verdict)) continue;
        if (first) out += "\n";
        first = false;
        out += fmt::format("{}  {}: {}\n", cell_id(cell),
                           paint(to_string(cell.verdict), cell.verdict, colour),
                           printable(cell_reason(cell)));
        if (!cell.evidence.empty()) out += fmt::format("  evidence: {}\n", printable(cell.evidence));
    }

    if (show_evidence && !report.cells.empty()) {
        out += "\n";
        for (const auto& cell : report.cells) {
            out += fmt::format("{}  {}", cell_id(cell),
                               paint(to_string(cell.verdict), cell.verdict, colour));
            // An n/a cell ran nothing: there are no restarts to sum up.
            const bool ran = cell.verdict != Verdict::not_applicable;
            if (ran) out += "  " + restart_summary(cell);
            if (!cell.evidence.empty()) out += (ran ? "; " : "  ") + printable(cell.evidence);
            out += "\n";
        }
    }
    return out;
}

} // namespace crashloop
