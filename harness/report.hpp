#pragma once
// The matrix, rendered: one file per format (report_table.cpp, report_json.cpp,
// report_junit.cpp, report_markdown.cpp). Every renderer is a pure function of
// the MatrixReport; the CLI decides where the text goes. The format vocabulary,
// render() and the helpers shared by the formats live in report_table.cpp, the
// default format's file.
#include <optional>
#include <string>
#include <string_view>

#include "cell_result.hpp"

namespace crashloop {

enum class ReportFormat { table, json, junit, markdown };
std::string_view to_string(ReportFormat format); // "table" "json" "junit" "markdown"
std::optional<ReportFormat> parse_report_format(std::string_view text);

// colour and show_evidence only shape the terminal table; the other formats
// always carry every cell's evidence.
std::string render(const MatrixReport& report, ReportFormat format, bool colour,
                   bool show_evidence);

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
// stayed down), "✗ 0" (fail), "≈ –" (known deviation), "n/a", "ERR".
std::string cell_mark(const CellResult& cell);
// "105 cells: 98 pass, 7 known-deviation, 0 fail, 0 error, 0 n/a — 1234 ms wall
// on systemd 252.38-1~deb12u1"
std::string summary_line(const MatrixReport& report);
// "on-failure/sigabrt": the cell's id in every report and test name.
std::string cell_id(const CellResult& cell);
// "expected restart, observed none" — the default reason for a fail.
std::string expected_vs_observed(const CellResult& cell);
// The reason a reader is shown: the cell's own, or expected_vs_observed() for a
// fail that has none.
std::string cell_reason(const CellResult& cell);
// fail, error and known-deviation: the cells listed under the grid.
bool needs_attention(Verdict verdict);
// The cell at (restart, cause), or nullptr when the matrix skipped it.
const CellResult* find_cell(const MatrixReport& report, RestartValue restart,
                            std::string_view cause);

} // namespace crashloop
