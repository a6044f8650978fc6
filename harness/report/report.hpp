#pragma once
// The matrix, rendered: one file per format (report_table.cpp, report_json.cpp,
// report_junit.cpp, report_markdown.cpp), and several supervisors' matrices
// side by side (report_compare.cpp). Every renderer is a pure function of the
// MatrixReport(s); the CLI decides where the text goes. The format vocabulary,
// render() and the helpers shared by the formats live in report_table.cpp, the
// default format's file.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cell_result.hpp"

namespace crashloop {

struct CheckReport;
struct SoakReport;

enum class ReportFormat { table, json, junit, markdown };
std::string_view to_string(ReportFormat format); // "table" "json" "junit" "markdown"
std::optional<ReportFormat> parse_report_format(std::string_view text);

// colour and show_evidence only shape the terminal table; the other formats
// always carry every cell's evidence.
std::string render(const MatrixReport& report, ReportFormat format, bool colour,
                   bool show_evidence);

// `crashloop compare`: one MatrixReport per supervisor (same Restart= values and
// causes; a cell one of them skipped shows "?"), in the order the supervisors
// were named. Table 2's layout, each cell the manual's answer then every
// supervisor's ("R │ · R"), the cells where the supervisors differ highlighted
// (reverse video with colour, a trailing "*" without), then the differing
// cells with each supervisor's evidence. table, markdown and json only: junit
// throws std::invalid_argument (the CLI refuses it before running anything).
// colour only shapes the table; evidence lists every cell, not only the
// differing ones, in the table and markdown formats (json always has it all).
std::string render_compare(const std::vector<MatrixReport>& reports, ReportFormat format,
                           bool colour, bool evidence);
// The cells whose answers (restarted, stayed down, n/a, error) are not all the
// same across the reports: the number render_compare() reports as differences.
std::size_t count_differences(const std::vector<MatrixReport>& reports);

// Table 2's layout for a terminal: Restart= values across, causes down, then a
// legend, the summary and the cells that need a reader's attention.
std::string render_table(const MatrixReport& report, bool colour, bool show_evidence);
// The machine contract (see README "JSON report"); pretty-printed, trailing newline.
std::string render_json(const MatrixReport& report);
// One <testsuite>, one <testcase classname="<restart>" name="<cause>"> per cell.
std::string render_junit(const MatrixReport& report);
// The terminal table as a GitHub table, the summary, then the deviations and failures.
std::string render_markdown(const MatrixReport& report);

// Shared by the table and markdown renderers (defined in report_table.cpp), so
// both formats say the same thing in the same words.

// A grid cell in a few characters: "✓ 1" (pass, restarted once), "✓ –" (pass,
// stayed down), "✗ 0" (fail), "≈ –" (known deviation), "≉ –" (unexpected pass),
// "n/a", "ERR".
std::string cell_mark(const CellResult& cell);
// "105 cells: 98 pass, 7 known-deviation, 0 fail, 0 error, 0 n/a — 1234 ms wall
// on systemd 252.38-1~deb12u1"; "…, 1 unexpected-pass, …" after the known
// deviations and "… 0 n/a, 2 retried — …" only when there is one.
std::string summary_line(const MatrixReport& report);
// Cells whose verdict came from a later attempt (CellResult::retries > 0).
long retried_cells(const MatrixReport& report);
// "on-failure/sigabrt": the cell's id in every report and test name.
std::string cell_id(const CellResult& cell);
// "expected restart, observed none" — the default reason for a fail.
std::string expected_vs_observed(const CellResult& cell);
// The reason a reader is shown: the cell's own, or expected_vs_observed() for a
// fail that has none.
std::string cell_reason(const CellResult& cell);
// fail, error, known-deviation and unexpected-pass: the cells listed under the grid.
bool needs_attention(Verdict verdict);
// The cell at (restart, cause), or nullptr when the matrix skipped it.
const CellResult* find_cell(const MatrixReport& report, RestartValue restart,
                            std::string_view cause);
// "restarted 1 (supervisor 1) after 103 ms" / "stayed down (supervisor 0)"; "(supervisor:
// no count)" from a supervisor that reports none.
std::string restart_summary(const CellResult& cell);
// "systemd 252.38-1~deb12u1", or the bare name without a version.
std::string supervisor_label(const MatrixReport& report);

// Terminal text, shared by the table and compare renderers.

// The SGR sequence of a verdict's colour ("\x1b[32m" for pass …).
std::string_view verdict_sgr(Verdict verdict);
// text between sgr and a reset; text as is without colour (or without sgr).
std::string paint_sgr(std::string_view text, std::string_view sgr, bool colour);
// Columns UTF-8 text takes in a terminal ("✓ 1" is 5 bytes, 3 columns).
std::size_t display_width(std::string_view text);
// text and blanks up to width columns.
std::string pad_to_width(std::string_view text, std::size_t width);

// One grid cell as shown: its text and the SGR it is painted with ("" none).
struct GridCell {
    std::string text;
    std::string_view sgr;
};
// Table 2's layout: a "cause \ Restart=" corner, Restart= values across, causes
// down, columns as wide as their widest cell (measured before colouring). A
// cell the function has nothing for (nullopt) is left blank.
using GridCellOf = std::function<std::optional<GridCell>(RestartValue, const std::string&)>;
std::string render_table2_grid(const std::vector<RestartValue>& restarts,
                               const std::vector<std::string>& causes, const GridCellOf& cell_of,
                               bool colour);

// `crashloop check` (report_check.cpp): plain words per cause in the table format, the
// matrix's own json/junit/markdown otherwise.
std::string render_check(const CheckReport& report, ReportFormat format, bool colour,
                         bool show_evidence);
// `crashloop soak` (report_soak.cpp): the text report, or the JSON contract.
std::string render_soak(const SoakReport& report, bool json);

// Markdown text, shared by the markdown and compare renderers (defined in
// report_markdown.cpp): every character that would end a table cell or start
// markup backslash-escaped, newlines as blanks.
std::string escape_markdown(std::string_view text);

} // namespace crashloop
