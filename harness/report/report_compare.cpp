// `crashloop compare`: several supervisors' matrices side by side. Table 2's
// layout as in the terminal report (report_table.cpp's grid), each cell the
// manual's answer and then every supervisor's, in the order they were named:
//
//     cause \ Restart=  on-failure   always
//     ────────────────  ───────────  ─────────
//     sigabrt           R │ R R      R │ R R
//     reload-timeout    R │ · R *    R │ · ·
//
// then every cell where the supervisors answer differently, each supervisor's
// verdict and evidence on a line of its own. The answers compared are what the
// supervisors did (restarted, stayed down, n/a, error), not the verdicts: two
// supervisors that both stay down differ from the manual, not from each other.
#include <algorithm>
#include <cstddef>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "report.hpp"
#include "text.hpp"

namespace crashloop {

namespace {

using Json = nlohmann::ordered_json;

// Reverse video: a highlight of its own, apart from every verdict's colour.
constexpr std::string_view sgr_differ = "\x1b[1;7m";
constexpr std::string_view separator = " │ ";

// One cell (a Restart= value × a cause) across the supervisors.
struct Row {
    RestartValue restart = RestartValue::no;
    std::string cause;
    std::optional<bool> expected;           // the manual's; nullopt when no supervisor ran it
    std::vector<const CellResult*> answers; // one per report, in order; nullptr: skipped
    bool differ = false;
};

// R restarted, · stayed down, n/a, ! error (no answer), ? the matrix skipped it.
std::string_view answer_symbol(const CellResult* cell) {
    if (cell == nullptr) return "?";
    switch (cell->verdict) {
    case Verdict::not_applicable:
        return "n/a";
    case Verdict::error:
        return "!";
    case Verdict::pass:
    case Verdict::fail:
    case Verdict::known_deviation:
    case Verdict::unexpected_pass:
        break;
    }
    return cell->observed.restarted ? "R" : "·";
}

std::string_view expected_symbol(const Row& row) {
    if (!row.expected) return "?";
    return *row.expected ? "R" : "·";
}

// The union of the reports' Restart= values, or causes, in first-seen order: the
// reports should agree, and a value only one of them ran still gets its column.
template <typename T, typename Of>
std::vector<T> union_of(const std::vector<MatrixReport>& reports, Of of) {
    std::vector<T> out;
    for (const auto& report : reports)
        for (const auto& value : of(report))
            if (std::find(out.begin(), out.end(), value) == out.end()) out.push_back(value);
    return out;
}

std::vector<RestartValue> restarts_of(const std::vector<MatrixReport>& reports) {
    return union_of<RestartValue>(reports, [](const MatrixReport& r) { return r.restarts; });
}

std::vector<std::string> causes_of(const std::vector<MatrixReport>& reports) {
    return union_of<std::string>(reports, [](const MatrixReport& r) { return r.causes; });
}

Row row_of(const std::vector<MatrixReport>& reports, RestartValue restart,
           const std::string& cause) {
    Row row;
    row.restart = restart;
    row.cause = cause;
    for (const auto& report : reports) {
        const CellResult* cell = find_cell(report, restart, cause);
        if (cell != nullptr && !row.expected) row.expected = cell->expected_restarted;
        row.answers.push_back(cell);
    }
    for (const CellResult* cell : row.answers)
        row.differ = row.differ || answer_symbol(cell) != answer_symbol(row.answers.front());
    return row;
}

// Every cell, in reading order: causes down, Restart= values across.
std::vector<Row> rows_of(const std::vector<MatrixReport>& reports) {
    std::vector<Row> rows;
    const auto restarts = restarts_of(reports);
    for (const auto& cause : causes_of(reports))
        for (const auto restart : restarts)
            rows.push_back(row_of(reports, restart, cause));
    return rows;
}

const Row* find_row(const std::vector<Row>& rows, RestartValue restart, std::string_view cause) {
    for (const auto& row : rows)
        if (row.restart == restart && row.cause == cause) return &row;
    return nullptr;
}

// "R │ · R": the manual's answer, then each supervisor's.
std::string answers_text(const Row& row) {
    std::string out = std::string(expected_symbol(row)) + std::string(separator);
    for (std::size_t i = 0; i < row.answers.size(); ++i)
        out += (i == 0 ? "" : " ") + std::string(answer_symbol(row.answers[i]));
    return out;
}

std::string manual_says(const Row& row) {
    if (!row.expected) return "no supervisor ran it";
    return *row.expected ? "Table 2 says it restarts" : "Table 2 says it stays down";
}

std::string row_id(const Row& row) {
    return fmt::format("{}/{}", to_string(row.restart), row.cause);
}

std::string expectations_text(const MatrixReport& report) {
    return report.expectations_file.empty() ? "no expectations file"
                                            : "expectations " + report.expectations_file;
}

// "known-deviation: stayed down (supervisor 0) — <reason>; <evidence>": one
// supervisor's answer to one cell, on one line. `verdict` is the verdict's
// word, painted or not.
std::string answer_line(const CellResult* cell, const std::string& verdict) {
    if (cell == nullptr) return "not run: the matrix skipped this cell";
    std::string out = verdict + ": ";
    const bool answered =
        cell->verdict != Verdict::error && cell->verdict != Verdict::not_applicable;
    const std::string reason = printable(cell_reason(*cell));
    if (answered) {
        out += restart_summary(*cell);
        if (!reason.empty()) out += " — " + reason;
    } else {
        out += reason;
    }
    if (!cell->evidence.empty()) out += "; " + printable(cell->evidence);
    return out;
}

std::string differences_line(std::size_t cells, std::size_t differences) {
    if (differences == 0) return fmt::format("{} cells: the supervisors agree on every one", cells);
    return fmt::format("{} cells: the supervisors differ on {}", cells, differences);
}

std::size_t differences_in(const std::vector<Row>& rows) {
    return static_cast<std::size_t>(
        std::count_if(rows.begin(), rows.end(), [](const Row& row) { return row.differ; }));
}

// ---- table ------------------------------------------------------------------

std::string compare_table(const std::vector<MatrixReport>& reports, bool colour, bool evidence) {
    const std::vector<Row> rows = rows_of(reports);

    std::string out = "crashloop compare: the manual │ then each supervisor, in this order:\n";
    for (std::size_t i = 0; i < reports.size(); ++i)
        out += fmt::format("  {}. {} — {} — {} ms wall\n", i + 1, supervisor_label(reports[i]),
                           expectations_text(reports[i]), reports[i].wall.count());
    out += "\n";

    out += render_table2_grid(
        restarts_of(reports), causes_of(reports),
        [&](RestartValue restart, const std::string& cause) -> std::optional<GridCell> {
            const Row* row = find_row(rows, restart, cause);
            if (row == nullptr) return std::nullopt;
            // Without colour the marker is the highlight; with it, the reverse video.
            if (!row->differ) return GridCell{answers_text(*row), ""};
            if (colour) return GridCell{answers_text(*row), sgr_differ};
            return GridCell{answers_text(*row) + " *", ""};
        },
        colour);

    out += "\n";
    out += fmt::format("R restarted  · stayed down  n/a not applicable  ! error  ? not run · a "
                       "cell: the manual │ each supervisor  {} the supervisors differ\n",
                       colour ? paint_sgr("R │ · R", sgr_differ, true) : "*");
    for (const auto& report : reports)
        out += summary_line(report) + "\n";
    out += differences_line(rows.size(), differences_in(rows)) + "\n";

    std::size_t label_width = 0;
    for (const auto& report : reports)
        label_width = std::max(label_width, display_width(supervisor_label(report)));

    const bool any = std::any_of(rows.begin(), rows.end(),
                                 [&](const Row& row) { return evidence || row.differ; });
    if (any) out += evidence ? "\nEvery cell:\n" : "\nWhere the supervisors differ:\n";
    for (const auto& row : rows) {
        if (!evidence && !row.differ) continue;
        const std::string marker = !row.differ ? ""
                                   : colour    ? "  " + paint_sgr("differ", sgr_differ, true)
                                               : "  *";
        out += fmt::format("{}  {}{}\n", row_id(row), manual_says(row), marker);
        for (std::size_t i = 0; i < reports.size(); ++i) {
            const CellResult* cell = row.answers[i];
            const std::string verdict =
                cell == nullptr
                    ? ""
                    : paint_sgr(to_string(cell->verdict), verdict_sgr(cell->verdict), colour);
            out += fmt::format("  {}  {}  {}\n",
                               pad_to_width(supervisor_label(reports[i]), label_width),
                               pad_to_width(answer_symbol(cell), 3), answer_line(cell, verdict));
        }
    }
    return out;
}

// ---- markdown ---------------------------------------------------------------

std::string compare_markdown(const std::vector<MatrixReport>& reports, bool evidence) {
    const std::vector<Row> rows = rows_of(reports);
    const auto restarts = restarts_of(reports);

    std::string out = "Each cell: the manual │ then each supervisor, in this order:\n\n";
    for (std::size_t i = 0; i < reports.size(); ++i)
        out += fmt::format("{}. **{}** — {} — {} ms wall\n", i + 1,
                           escape_markdown(supervisor_label(reports[i])),
                           escape_markdown(expectations_text(reports[i])), reports[i].wall.count());

    out += "\n| cause \\\\ Restart= |";
    for (const auto restart : restarts)
        out += fmt::format(" {} |", escape_markdown(to_string(restart)));
    out += "\n|---|";
    for (std::size_t c = 0; c < restarts.size(); ++c)
        out += ":---:|";
    out += "\n";
    for (const auto& cause : causes_of(reports)) {
        out += fmt::format("| {} |", escape_markdown(cause));
        for (const auto restart : restarts) {
            const Row* row = find_row(rows, restart, cause);
            const std::string text = answers_text(*row);
            out += row->differ ? fmt::format(" **{}** \\* |", text) : fmt::format(" {} |", text);
        }
        out += "\n";
    }

    out += "\nR restarted · stayed down · n/a not applicable · ! error · ? not run · \\* the "
           "supervisors differ\n\n";
    for (const auto& report : reports)
        out += "- " + escape_markdown(summary_line(report)) + "\n";
    out += "- " + differences_line(rows.size(), differences_in(rows)) + "\n";

    out += evidence ? "\n### Every cell\n\n" : "\n### Where the supervisors differ\n\n";
    bool any = false;
    for (const auto& row : rows) {
        if (!evidence && !row.differ) continue;
        any = true;
        out += fmt::format("- **{}** {}{}\n", escape_markdown(row_id(row)), manual_says(row),
                           row.differ ? " \\*" : "");
        for (std::size_t i = 0; i < reports.size(); ++i) {
            const CellResult* cell = row.answers[i];
            const std::string verdict =
                cell == nullptr ? "" : std::string(to_string(cell->verdict));
            out += fmt::format("  - {} ({}) {}\n", escape_markdown(supervisor_label(reports[i])),
                               escape_markdown(answer_symbol(cell)),
                               escape_markdown(answer_line(cell, verdict)));
        }
    }
    if (!any) out += "None.\n";
    return out;
}

// ---- json -------------------------------------------------------------------

Json answer_json(const MatrixReport& report, const CellResult* cell) {
    if (cell == nullptr)
        return Json{{"supervisor", report.supervisor},
                    {"restarted", nullptr},
                    {"verdict", nullptr},
                    {"restarts", nullptr},
                    {"supervisor_restarts", nullptr},
                    {"reason", "not run"},
                    {"evidence", ""}};
    // No answer (n/a, error) is not "stayed down".
    const bool answered =
        cell->verdict != Verdict::error && cell->verdict != Verdict::not_applicable;
    return Json{
        {"supervisor", report.supervisor},
        {"restarted", answered ? Json(cell->observed.restarted) : Json(nullptr)},
        {"verdict", to_string(cell->verdict)},
        {"restarts", cell->observed.restarts},
        {"supervisor_restarts", cell->observed.supervisor_restarts},
        {"reason", cell->reason},
        {"evidence", cell->evidence},
    };
}

std::string compare_json(const std::vector<MatrixReport>& reports) {
    Json supervisors = Json::array();
    for (const auto& report : reports)
        supervisors.push_back(Json{
            {"name", report.supervisor},
            {"version", report.supervisor_version},
            {"expectations",
             report.expectations_file.empty() ? Json(nullptr) : Json(report.expectations_file)},
            {"wall_ms", report.wall.count()},
        });
    const std::vector<Row> rows = rows_of(reports);
    Json cells = Json::array();
    for (const auto& row : rows) {
        Json answers = Json::array();
        for (std::size_t i = 0; i < reports.size(); ++i)
            answers.push_back(answer_json(reports[i], row.answers[i]));
        cells.push_back(Json{
            {"restart", to_string(row.restart)},
            {"cause", row.cause},
            {"expected", {{"restarted", row.expected ? Json(*row.expected) : Json(nullptr)}}},
            {"answers", std::move(answers)},
            {"differ", row.differ},
        });
    }
    const Json out = {
        {"supervisors", std::move(supervisors)},
        {"cells", std::move(cells)},
        {"differences", differences_in(rows)},
    };
    // As render_json(): evidence may quote stray bytes; replace, never throw.
    return out.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

} // namespace

std::size_t count_differences(const std::vector<MatrixReport>& reports) {
    return differences_in(rows_of(reports));
}

std::string render_compare(const std::vector<MatrixReport>& reports, ReportFormat format,
                           bool colour, bool evidence) {
    switch (format) {
    case ReportFormat::table:
        return compare_table(reports, colour, evidence);
    case ReportFormat::markdown:
        return compare_markdown(reports, evidence);
    case ReportFormat::json:
        return compare_json(reports);
    case ReportFormat::junit:
        break;
    }
    throw std::invalid_argument(fmt::format(
        "crashloop compare has no {} format (table, markdown or json)", to_string(format)));
}

} // namespace crashloop
