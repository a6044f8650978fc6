// `crashloop compare` rendered from two hand-built matrices: systemd 252 (with
// its expectations file) and s6 (without one), Restart=on-failure and
// Restart=always across, sigabrt, reload-timeout and watchdog down. They agree
// on sigabrt (both restart, as the manual says) and on always/reload-timeout
// (both stay down, against the manual), and differ on three cells:
//
//     on-failure/reload-timeout  systemd stays down (known deviation), s6 restarts
//     on-failure/watchdog        systemd restarts, s6 cannot express it (n/a)
//     always/watchdog            systemd restarts, s6 has no answer (error)
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "report.hpp"

namespace crashloop {
namespace {

using namespace std::chrono_literals;

CellResult cell(RestartValue restart, std::string cause, bool expected, Verdict verdict,
                bool restarted, std::string evidence, std::string reason = "") {
    CellResult out;
    out.restart = restart;
    out.cause = std::move(cause);
    out.expected_restarted = expected;
    out.verdict = verdict;
    out.observed.restarted = restarted;
    out.observed.restarts = restarted ? 1 : 0;
    out.observed.supervisor_restarts = restarted ? 1 : 0;
    if (restarted) out.observed.delay_ms = 100;
    out.evidence = std::move(evidence);
    out.reason = std::move(reason);
    return out;
}

MatrixReport matrix(std::string supervisor, std::string version, std::string expectations,
                    std::chrono::milliseconds wall, std::vector<CellResult> cells) {
    MatrixReport report;
    report.supervisor = std::move(supervisor);
    report.supervisor_version = std::move(version);
    report.expectations_file = std::move(expectations);
    report.restarts = {RestartValue::on_failure, RestartValue::always};
    report.causes = {"sigabrt", "reload-timeout", "watchdog"};
    report.wall = wall;
    report.cells = std::move(cells);
    return report;
}

constexpr auto on_failure = RestartValue::on_failure;
constexpr auto always = RestartValue::always;

MatrixReport systemd_252() {
    const std::string deviation = "systemd 252 keeps the service running";
    return matrix("systemd", "252.38-1~deb12u1", "scenarios/expectations/systemd-252.toml", 1881ms,
                  {
                      cell(on_failure, "sigabrt", true, Verdict::pass, true, "pids 100→101"),
                      cell(always, "sigabrt", true, Verdict::pass, true, "pids 110→111"),
                      cell(on_failure, "reload-timeout", true, Verdict::known_deviation, false,
                           "pids 120; NRestarts=0", deviation),
                      cell(always, "reload-timeout", true, Verdict::known_deviation, false,
                           "pids 130; NRestarts=0", deviation),
                      cell(on_failure, "watchdog", true, Verdict::pass, true, "pids 140→141"),
                      cell(always, "watchdog", true, Verdict::pass, true, "pids 150→151"),
                  });
}

MatrixReport s6() {
    return matrix("s6", "2.13.1.0", "", 950ms,
                  {
                      cell(on_failure, "sigabrt", true, Verdict::pass, true, "pids 200→201"),
                      cell(always, "sigabrt", true, Verdict::pass, true, "pids 210→211"),
                      cell(on_failure, "reload-timeout", true, Verdict::pass, true, "pids 220→221"),
                      cell(always, "reload-timeout", true, Verdict::fail, false, "pids 230"),
                      cell(on_failure, "watchdog", true, Verdict::not_applicable, false, "",
                           "s6 has no watchdog"),
                      cell(always, "watchdog", true, Verdict::error, false, "s6-svc exited 1",
                           "s6-supervise died"),
                  });
}

std::vector<MatrixReport> systemd_and_s6() {
    return {systemd_252(), s6()};
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// The lines from the one that starts with `first` on, `count` of them.
std::vector<std::string> lines_from(const std::string& text, std::string_view first,
                                    std::size_t count) {
    const auto lines = lines_of(text);
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (lines[i].starts_with(first))
            return {lines.begin() + static_cast<long>(i),
                    lines.begin() + static_cast<long>(std::min(lines.size(), i + count))};
    return {};
}

TEST(CompareTable, HeaderNamesEachSupervisorInOrder) {
    const auto lines =
        lines_of(render_compare(systemd_and_s6(), ReportFormat::table, false, false));
    ASSERT_GE(lines.size(), 3U);
    EXPECT_EQ(lines[0], "crashloop compare: the manual │ then each supervisor, in this order:");
    EXPECT_EQ(lines[1], "  1. systemd 252.38-1~deb12u1 — expectations "
                        "scenarios/expectations/systemd-252.toml — 1881 ms wall");
    EXPECT_EQ(lines[2], "  2. s6 2.13.1.0 — no expectations file — 950 ms wall");
}

TEST(CompareTable, GridFollowsTable2LayoutWithEveryAnswerAndMarksDifferences) {
    const std::string text = render_compare(systemd_and_s6(), ReportFormat::table, false, false);
    EXPECT_EQ(lines_from(text, "cause \\ Restart=", 5),
              (std::vector<std::string>{
                  "cause \\ Restart=  on-failure   always",
                  "────────────────  ───────────  ─────────",
                  "sigabrt           R │ R R      R │ R R",
                  "reload-timeout    R │ · R *    R │ · ·",
                  "watchdog          R │ R n/a *  R │ R ! *",
              }))
        << text;
}

TEST(CompareTable, LegendAndSummaries) {
    const std::string text = render_compare(systemd_and_s6(), ReportFormat::table, false, false);
    EXPECT_NE(text.find("\nR restarted  · stayed down  n/a not applicable  ! error  ? not run · a "
                        "cell: the manual │ each supervisor  * the supervisors differ\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\n6 cells: 4 pass, 2 known-deviation, 0 fail, 0 error, 0 n/a — 1881 ms "
                        "wall on systemd 252.38-1~deb12u1\n6 cells: 3 pass, 0 known-deviation, 1 "
                        "fail, 1 error, 1 n/a — 950 ms wall on s6 2.13.1.0\n6 cells: the "
                        "supervisors differ on 3\n"),
              std::string::npos)
        << text;
}

TEST(CompareTable, ListsEachDifferingCellWithEverySupervisorsEvidence) {
    const std::string text = render_compare(systemd_and_s6(), ReportFormat::table, false, false);
    EXPECT_EQ(
        lines_from(text, "Where the supervisors differ:", 10),
        (std::vector<std::string>{
            "Where the supervisors differ:",
            "on-failure/reload-timeout  Table 2 says it restarts  *",
            "  systemd 252.38-1~deb12u1  ·    known-deviation: stayed down (supervisor 0) — "
            "systemd 252 keeps the service running; pids 120; NRestarts=0",
            "  s6 2.13.1.0               R    pass: restarted 1 (supervisor 1) after 100 ms; pids "
            "220→221",
            "on-failure/watchdog  Table 2 says it restarts  *",
            "  systemd 252.38-1~deb12u1  R    pass: restarted 1 (supervisor 1) after 100 ms; pids "
            "140→141",
            "  s6 2.13.1.0               n/a  n/a: s6 has no watchdog",
            "always/watchdog  Table 2 says it restarts  *",
            "  systemd 252.38-1~deb12u1  R    pass: restarted 1 (supervisor 1) after 100 ms; pids "
            "150→151",
            "  s6 2.13.1.0               !    error: s6-supervise died; s6-svc exited 1",
        }))
        << text;
    EXPECT_EQ(text.find("always/reload-timeout"), std::string::npos)
        << "both stay down: they differ from the manual, not from each other\n"
        << text;
}

TEST(CompareTable, EvidenceListsEveryCell) {
    const std::string text = render_compare(systemd_and_s6(), ReportFormat::table, false, true);
    EXPECT_NE(text.find("\nEvery cell:\non-failure/sigabrt  Table 2 says it restarts\n  systemd "
                        "252.38-1~deb12u1  R    pass: restarted 1 (supervisor 1) after 100 ms; "
                        "pids 100→101\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\nalways/reload-timeout  Table 2 says it restarts\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("\n  s6 2.13.1.0               ·    fail: stayed down (supervisor 0) — "
                        "expected restart, observed none; pids 230\n"),
              std::string::npos)
        << text;
}

TEST(CompareTable, ColourHighlightsDifferingCellsInsteadOfTheMarker) {
    const std::string text = render_compare(systemd_and_s6(), ReportFormat::table, true, false);
    EXPECT_NE(text.find("reload-timeout    \x1b[1;7mR │ · R\x1b[0m     R │ · ·\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("sigabrt           R │ R R"), std::string::npos)
        << "agreeing cells stay plain\n"
        << text;
    EXPECT_EQ(text.find(" *\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\x1b[33mknown-deviation\x1b[0m: stayed down"), std::string::npos)
        << "verdicts keep their colours\n"
        << text;
}

TEST(CompareTable, WithoutColourHasNoEscapes) {
    const std::string text = render_compare(systemd_and_s6(), ReportFormat::table, false, true);
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
}

TEST(CompareTable, AgreeingSupervisorsHaveNoDifferences) {
    const std::string text =
        render_compare({systemd_252(), systemd_252()}, ReportFormat::table, false, false);
    EXPECT_NE(text.find("\n6 cells: the supervisors agree on every one\n"), std::string::npos)
        << text;
    EXPECT_EQ(text.find("Where the supervisors differ"), std::string::npos) << text;
    EXPECT_NE(text.find("\nreload-timeout    R │ · ·     R │ · ·\n"), std::string::npos)
        << "no cell marked\n"
        << text;
}

TEST(CompareTable, ACellOneMatrixSkippedShowsAQuestionMark) {
    std::vector<MatrixReport> reports = systemd_and_s6();
    reports[1].cells.erase(reports[1].cells.begin()); // s6 never ran on-failure/sigabrt
    const std::string text = render_compare(reports, ReportFormat::table, false, false);
    EXPECT_NE(text.find("\nsigabrt           R │ R ? *    R │ R R\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  s6 2.13.1.0               ?    not run: the matrix skipped this cell\n"),
              std::string::npos)
        << text;
}

TEST(CompareDifferences, CountsCellsWhoseAnswersDiffer) {
    EXPECT_EQ(count_differences(systemd_and_s6()), 3U);
    EXPECT_EQ(count_differences({systemd_252(), systemd_252()}), 0U);
    EXPECT_EQ(count_differences({systemd_252()}), 0U);
    EXPECT_EQ(count_differences({}), 0U);
}

TEST(CompareJson, FollowsTheContract) {
    const std::string text = render_compare(systemd_and_s6(), ReportFormat::json, false, false);
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    const auto json = nlohmann::json::parse(text);

    EXPECT_EQ(json["supervisors"], nlohmann::json::parse(R"([
                  {"name": "systemd", "version": "252.38-1~deb12u1",
                   "expectations": "scenarios/expectations/systemd-252.toml", "wall_ms": 1881},
                  {"name": "s6", "version": "2.13.1.0", "expectations": null, "wall_ms": 950}
              ])"));
    EXPECT_EQ(json["differences"], 3);
    ASSERT_EQ(json["cells"].size(), 6U);

    std::vector<std::string> order;
    for (const auto& cell : json["cells"])
        order.push_back(cell["restart"].get<std::string>() + "/" +
                        cell["cause"].get<std::string>() +
                        (cell["differ"].get<bool>() ? " differ" : ""));
    EXPECT_EQ(order,
              (std::vector<std::string>{"on-failure/sigabrt", "always/sigabrt",
                                        "on-failure/reload-timeout differ", "always/reload-timeout",
                                        "on-failure/watchdog differ", "always/watchdog differ"}))
        << "the grid's reading order: causes down, Restart= values across";
}

TEST(CompareJson, EachCellCarriesTheManualAndEveryAnswer) {
    const auto json =
        nlohmann::json::parse(render_compare(systemd_and_s6(), ReportFormat::json, false, false));
    EXPECT_EQ(json["cells"][2], nlohmann::json::parse(R"({
        "restart": "on-failure", "cause": "reload-timeout", "expected": {"restarted": true},
        "answers": [
          {"supervisor": "systemd", "restarted": false, "verdict": "known-deviation",
           "restarts": 0, "supervisor_restarts": 0,
           "reason": "systemd 252 keeps the service running", "evidence": "pids 120; NRestarts=0"},
          {"supervisor": "s6", "restarted": true, "verdict": "pass",
           "restarts": 1, "supervisor_restarts": 1, "reason": "", "evidence": "pids 220→221"}
        ],
        "differ": true})"));
    // No answer is not "stayed down".
    EXPECT_TRUE(json["cells"][4]["answers"][1]["restarted"].is_null());
    EXPECT_EQ(json["cells"][4]["answers"][1]["verdict"], "n/a");
    EXPECT_TRUE(json["cells"][5]["answers"][1]["restarted"].is_null());
    EXPECT_EQ(json["cells"][5]["answers"][1]["verdict"], "error");
}

TEST(CompareMarkdown, GridAsAGitHubTable) {
    const std::string text = render_compare(systemd_and_s6(), ReportFormat::markdown, false, false);
    EXPECT_EQ(lines_from(text, "| cause", 5),
              (std::vector<std::string>{
                  "| cause \\\\ Restart= | on-failure | always |",
                  "|---|:---:|:---:|",
                  "| sigabrt | R │ R R | R │ R R |",
                  "| reload-timeout | **R │ · R** \\* | R │ · · |",
                  "| watchdog | **R │ R n/a** \\* | **R │ R !** \\* |",
              }))
        << text;
    EXPECT_NE(
        text.find("1. **systemd 252.38-1\\~deb12u1** — expectations "
                  "scenarios/expectations/systemd-252.toml — 1881 ms wall\n2. **s6 2.13.1.0** "
                  "— no expectations file — 950 ms wall\n"),
        std::string::npos)
        << text;
}

TEST(CompareMarkdown, ListsTheDifferences) {
    const std::string text = render_compare(systemd_and_s6(), ReportFormat::markdown, false, false);
    EXPECT_NE(
        text.find("### Where the supervisors differ\n\n- **on-failure/reload-timeout** Table "
                  "2 says it restarts \\*\n  - systemd 252.38-1\\~deb12u1 (·) known-deviation: "
                  "stayed down (supervisor 0) — systemd 252 keeps the service running; pids "
                  "120; NRestarts=0\n  - s6 2.13.1.0 (R) pass: restarted 1"),
        std::string::npos)
        << text;
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
}

TEST(CompareFormats, JunitIsRefused) {
    EXPECT_THROW(render_compare(systemd_and_s6(), ReportFormat::junit, false, false),
                 std::invalid_argument);
}

} // namespace
} // namespace crashloop
