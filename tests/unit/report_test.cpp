// The verdict (judge(), all_good()) and the four report formats over one small
// hand-built matrix: Restart=on-failure and Restart=always across, sigabrt and
// reload-timeout down, one cell of each verdict that needs a reader (pass,
// known-deviation, fail, error); a variant turns the known deviation into an
// unexpected pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "expectations.hpp"
#include "report.hpp"

namespace crashloop {
namespace {

using namespace std::chrono_literals;

MatrixReport small_matrix() {
    MatrixReport report;
    report.supervisor = "systemd";
    report.supervisor_version = "252.38-1~deb12u1";
    report.expectations_file = "scenarios/expectations/systemd-252.toml";
    report.restarts = {RestartValue::on_failure, RestartValue::always};
    report.causes = {"sigabrt", "reload-timeout"};
    report.wall = 1234ms;

    CellResult pass;
    pass.restart = RestartValue::on_failure;
    pass.cause = "sigabrt";
    pass.expected_restarted = true;
    pass.observed.restarted = true;
    pass.observed.restarts = 1;
    pass.observed.supervisor_restarts = 1;
    pass.observed.signal = SIGABRT;
    pass.observed.result = "core-dump";
    pass.observed.delay_ms = 103;
    pass.observed.final_state = "active/running";
    pass.observed.incarnations = {{1, 4242, 1000, 2000, "die SIGABRT"},
                                  {2, 4243, 105000, std::nullopt, "serve"}};
    pass.verdict = Verdict::pass;
    pass.evidence = "pid 4242 died SIGABRT, pid 4243 started 103 ms later";
    pass.duration = 450ms;

    CellResult deviation;
    deviation.restart = RestartValue::on_failure;
    deviation.cause = "reload-timeout";
    deviation.expected_restarted = true;
    deviation.observed.exit_code = 0;
    deviation.observed.result = "success";
    deviation.observed.final_state = "active/running";
    deviation.observed.incarnations = {{1, 5000, 1000, 2000, "serve"}};
    deviation.verdict = Verdict::known_deviation;
    deviation.reason = "a reload timeout does not fail the service on 252";
    deviation.evidence = "pid 5000 kept serving";
    deviation.duration = 2500ms;

    CellResult fail;
    fail.restart = RestartValue::always;
    fail.cause = "sigabrt";
    fail.expected_restarted = true;
    fail.observed.signal = SIGABRT;
    fail.observed.result = "core-dump";
    fail.observed.final_state = "failed/failed";
    fail.observed.incarnations = {{1, 6000, 1000, 2000, "die SIGABRT"}};
    fail.verdict = Verdict::fail;
    fail.evidence = "pid 6000 <died> & \"stayed\" down";
    fail.duration = 300ms;

    CellResult error;
    error.restart = RestartValue::always;
    error.cause = "reload-timeout";
    error.verdict = Verdict::error;
    error.reason = "unit would not start: <ExecStart> & \"quotes\" | pipe";
    error.evidence = "systemctl start exited 1";
    error.duration = 10ms;

    report.cells = {pass, deviation, fail, error};
    return report;
}

// small_matrix() with on-failure/reload-timeout restarting, as the manual says,
// although the expectations file still lists it as a deviation.
MatrixReport matrix_with_unexpected_pass() {
    MatrixReport report = small_matrix();
    CellResult& cell = report.cells[1];
    cell.observed.restarted = true;
    cell.observed.restarts = 1;
    cell.observed.supervisor_restarts = 1;
    cell.observed.delay_ms = 120;
    cell.verdict = Verdict::unexpected_pass;
    cell.reason = "listed as a known deviation (scenarios/expectations/systemd-252.toml:19: a "
                  "reload timeout does not fail the service on 252) but now agrees with the manual";
    cell.evidence = "pid 5000 killed by the reload timeout, pid 5001 started 120 ms later";
    return report;
}

std::size_t count_of(std::string_view haystack, std::string_view needle) {
    std::size_t count = 0;
    for (auto at = haystack.find(needle); at != std::string_view::npos;
         at = haystack.find(needle, at + needle.size()))
        ++count;
    return count;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// ---- judge(): the verdict as a table ---------------------------------------

// One row of judge()'s table: what the manual says, what was observed, and what
// the expectations file lists for the cell (nullopt: not listed).
struct JudgeCase {
    std::string name;
    bool expected;
    bool observed;
    std::optional<bool> listed;
    Verdict verdict;
};

class Judge : public testing::TestWithParam<JudgeCase> {};

TEST_P(Judge, VerdictFollowsManualAndExpectations) {
    const JudgeCase& c = GetParam();
    KnownDeviation known;
    known.restarted = c.listed.value_or(false);
    const Verdict verdict = judge(c.expected, c.observed, c.listed ? &known : nullptr);
    EXPECT_EQ(verdict, c.verdict) << c.name << ": expected " << to_string(c.verdict)
                                  << ", observed " << to_string(verdict);
}

INSTANTIATE_TEST_SUITE_P(
    Verdicts, Judge,
    testing::Values(
        // name, the manual restarts?, observed restarted?, listed as restarted?, verdict
        JudgeCase{"agrees_not_listed_restart", true, true, std::nullopt, Verdict::pass},
        JudgeCase{"agrees_not_listed_down", false, false, std::nullopt, Verdict::pass},
        JudgeCase{"agrees_listed_restart", true, true, false, Verdict::unexpected_pass},
        JudgeCase{"agrees_listed_down", false, false, true, Verdict::unexpected_pass},
        JudgeCase{"differs_listed_as_observed", true, false, false, Verdict::known_deviation},
        JudgeCase{"differs_listed_as_observed_up", false, true, true, Verdict::known_deviation},
        JudgeCase{"differs_listed_otherwise", true, false, true, Verdict::fail},
        JudgeCase{"differs_not_listed", true, false, std::nullopt, Verdict::fail},
        JudgeCase{"differs_not_listed_up", false, true, std::nullopt, Verdict::fail}),
    [](const testing::TestParamInfo<JudgeCase>& info) { return info.param.name; });

TEST(UnexpectedPass, ReasonNamesTheListedEntry) {
    KnownDeviation known;
    known.cause = "reload-timeout";
    known.reason = "systemd 252 keeps the service running";
    known.file = "scenarios/expectations/systemd-252.toml";
    known.line = 19;
    EXPECT_EQ(unexpected_pass_reason(known),
              "listed as a known deviation (scenarios/expectations/systemd-252.toml:19: systemd "
              "252 keeps the service running) but now agrees with the manual");
}

TEST(Verdict, NamesAreTheReportsWords) {
    EXPECT_EQ(to_string(Verdict::pass), "pass");
    EXPECT_EQ(to_string(Verdict::fail), "fail");
    EXPECT_EQ(to_string(Verdict::known_deviation), "known-deviation");
    EXPECT_EQ(to_string(Verdict::unexpected_pass), "unexpected-pass");
    EXPECT_EQ(to_string(Verdict::not_applicable), "n/a");
    EXPECT_EQ(to_string(Verdict::error), "error");
}

TEST(MatrixReport, AllGoodIsPassKnownDeviationAndNotApplicable) {
    for (const auto verdict : {Verdict::pass, Verdict::known_deviation, Verdict::not_applicable,
                               Verdict::unexpected_pass, Verdict::fail, Verdict::error}) {
        MatrixReport report;
        report.cells.resize(2);
        report.cells[0].verdict = Verdict::pass;
        report.cells[1].verdict = verdict;
        const bool good = verdict == Verdict::pass || verdict == Verdict::known_deviation ||
                          verdict == Verdict::not_applicable;
        EXPECT_EQ(report.all_good(), good) << "a matrix with one " << to_string(verdict) << " cell";
    }
    EXPECT_TRUE(MatrixReport{}.all_good()) << "no cells, nothing wrong";
}

TEST(ReportFormat, NamesRoundTrip) {
    for (const auto format :
         {ReportFormat::table, ReportFormat::json, ReportFormat::junit, ReportFormat::markdown})
        EXPECT_EQ(parse_report_format(to_string(format)), format) << to_string(format);
    EXPECT_EQ(parse_report_format("xml"), std::nullopt);
}

TEST(ReportFormat, RenderDispatchesToEachFormat) {
    const MatrixReport report = small_matrix();
    EXPECT_EQ(render(report, ReportFormat::json, false, false), render_json(report));
    EXPECT_EQ(render(report, ReportFormat::junit, false, false), render_junit(report));
    EXPECT_EQ(render(report, ReportFormat::markdown, false, false), render_markdown(report));
    EXPECT_EQ(render(report, ReportFormat::table, true, true), render_table(report, true, true));
}

TEST(ReportJson, TopLevelFollowsTheContract) {
    const std::string text = render_json(small_matrix());
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    EXPECT_NE(text.find("\n  \"supervisor\""), std::string::npos) << "two-space indent\n" << text;

    const auto json = nlohmann::json::parse(text);
    EXPECT_EQ(json["supervisor"]["name"], "systemd");
    EXPECT_EQ(json["supervisor"]["version"], "252.38-1~deb12u1");
    EXPECT_EQ(json["expectations"], "scenarios/expectations/systemd-252.toml");
    EXPECT_EQ(json["wall_ms"], 1234);
    EXPECT_EQ(json["summary"], nlohmann::json({{"pass", 1},
                                               {"fail", 1},
                                               {"known-deviation", 1},
                                               {"unexpected-pass", 0},
                                               {"n/a", 0},
                                               {"error", 1},
                                               {"retried", 0},
                                               {"unchecked", nlohmann::json::object()}}));
    ASSERT_EQ(json["cells"].size(), 4U);
}

// What the supervisor did not report is counted per kind, in the JSON and the summary line.
TEST(ReportJson, EvidenceTheSupervisorDidNotReportIsCounted) {
    MatrixReport report = small_matrix();
    report.cells[0].unchecked = {"restart count", "exit status"};
    report.cells[1].unchecked = {"restart count"};
    const auto json = nlohmann::json::parse(render_json(report));
    EXPECT_EQ(json["summary"]["unchecked"],
              nlohmann::json({{"restart count", 2}, {"exit status", 1}}));
    EXPECT_EQ(json["cells"][0]["unchecked"], nlohmann::json({"restart count", "exit status"}));
    EXPECT_EQ(json["cells"][2]["unchecked"], nlohmann::json::array());
    EXPECT_THAT(summary_line(report),
                ::testing::HasSubstr("; 2 cell(s) judged without systemd's restart count"));
    EXPECT_THAT(summary_line(report),
                ::testing::HasSubstr("; 1 cell(s) judged without systemd's exit status"));
}

TEST(ReportJson, ExpectationsIsNullWithoutAFile) {
    MatrixReport report = small_matrix();
    report.expectations_file.clear();
    EXPECT_TRUE(nlohmann::json::parse(render_json(report))["expectations"].is_null());
}

TEST(ReportJson, CellCarriesExpectedObservedAndVerdict) {
    const auto json = nlohmann::json::parse(render_json(small_matrix()));
    const auto& cell = json["cells"][0];
    EXPECT_EQ(cell["restart"], "on-failure");
    EXPECT_EQ(cell["cause"], "sigabrt");
    EXPECT_EQ(cell["expected"], nlohmann::json({{"restarted", true}}));
    EXPECT_EQ(cell["verdict"], "pass");
    EXPECT_EQ(cell["reason"], "");
    EXPECT_EQ(cell["evidence"], "pid 4242 died SIGABRT, pid 4243 started 103 ms later");
    EXPECT_EQ(cell["duration_ms"], 450);

    const auto& observed = cell["observed"];
    EXPECT_EQ(observed["restarted"], true);
    EXPECT_EQ(observed["restarts"], 1);
    EXPECT_EQ(observed["supervisor_restarts"], 1);
    EXPECT_EQ(observed["signal"], "SIGABRT");
    EXPECT_EQ(observed["result"], "core-dump");
    EXPECT_EQ(observed["delay_ms"], 103);
    EXPECT_EQ(observed["final_state"], "active/running");
    ASSERT_EQ(observed["incarnations"].size(), 2U);
    EXPECT_EQ(observed["incarnations"][0], nlohmann::json({{"number", 1},
                                                           {"pid", 4242},
                                                           {"started_ns", 1000},
                                                           {"ready_ns", 2000},
                                                           {"last_event", "die SIGABRT"}}));
    EXPECT_TRUE(observed["incarnations"][1]["ready_ns"].is_null());
}

TEST(ReportJson, ExitCodeXorSignal) {
    const auto json = nlohmann::json::parse(render_json(small_matrix()));
    for (const auto& cell : json["cells"]) {
        const auto& observed = cell["observed"];
        const std::string id =
            cell["restart"].get<std::string>() + "/" + cell["cause"].get<std::string>();
        if (id == "always/reload-timeout") {
            // The error cell saw no end at all: neither key.
            EXPECT_FALSE(observed.contains("exit_code")) << id;
            EXPECT_FALSE(observed.contains("signal")) << id;
            continue;
        }
        EXPECT_NE(observed.contains("exit_code"), observed.contains("signal"))
            << id << ": expected exactly one of exit_code and signal, observed " << observed;
    }
    EXPECT_EQ(json["cells"][1]["observed"]["exit_code"], 0);
}

TEST(ReportJson, VerdictStringsAndReasons) {
    const auto json = nlohmann::json::parse(render_json(small_matrix()));
    std::vector<std::string> verdicts;
    for (const auto& cell : json["cells"])
        verdicts.push_back(cell["verdict"]);
    EXPECT_EQ(verdicts, (std::vector<std::string>{"pass", "known-deviation", "fail", "error"}));
    EXPECT_EQ(json["cells"][1]["reason"], "a reload timeout does not fail the service on 252");
    EXPECT_TRUE(json["cells"][2]["observed"]["delay_ms"].is_null());
}

TEST(ReportJson, UnexpectedPassHasItsOwnVerdictAndCount) {
    const auto json = nlohmann::json::parse(render_json(matrix_with_unexpected_pass()));
    EXPECT_EQ(json["cells"][1]["verdict"], "unexpected-pass");
    EXPECT_EQ(json["summary"]["unexpected-pass"], 1);
    EXPECT_EQ(json["summary"]["known-deviation"], 0);
    EXPECT_NE(json["cells"][1]["reason"].get<std::string>().find("systemd-252.toml:19"),
              std::string::npos);
}

TEST(ReportJson, InvalidUtf8InEvidenceDoesNotThrow) {
    MatrixReport report = small_matrix();
    report.cells[0].evidence = "bad byte \xff here";
    std::string text;
    ASSERT_NO_THROW(text = render_json(report));
    EXPECT_TRUE(nlohmann::json::accept(text)) << text;
}

TEST(ReportJunit, OneTestcasePerCellWithFailuresErrorsAndSkips) {
    MatrixReport report = small_matrix();
    CellResult skipped;
    skipped.restart = RestartValue::on_failure;
    skipped.cause = "watchdog";
    skipped.verdict = Verdict::not_applicable;
    skipped.reason = "no watchdog in this build";
    report.cells.push_back(skipped);

    const std::string xml = render_junit(report);
    EXPECT_EQ(count_of(xml, "<testsuite "), 1U) << xml;
    EXPECT_NE(xml.find("<testsuite name=\"crashloop.systemd\""), std::string::npos) << xml;
    EXPECT_NE(xml.find("tests=\"5\" failures=\"1\" errors=\"1\" skipped=\"1\""), std::string::npos)
        << xml;
    EXPECT_EQ(count_of(xml, "<testcase "), 5U) << xml;
    EXPECT_EQ(count_of(xml, "<failure "), 1U) << xml;
    EXPECT_EQ(count_of(xml, "<error "), 1U) << xml;
    EXPECT_EQ(count_of(xml, "<skipped message=\"no watchdog in this build\"/>"), 1U) << xml;
    EXPECT_NE(xml.find("<testcase classname=\"on-failure\" name=\"sigabrt\" time=\"0.450\""),
              std::string::npos)
        << xml;
}

TEST(ReportJunit, KnownDeviationPassesButSaysSo) {
    const std::string xml = render_junit(small_matrix());
    const auto at = xml.find("name=\"reload-timeout\"");
    ASSERT_NE(at, std::string::npos) << xml;
    const auto end = xml.find("</testcase>", at);
    const std::string testcase = xml.substr(at, end - at);
    EXPECT_EQ(testcase.find("<failure"), std::string::npos) << testcase;
    EXPECT_NE(testcase.find("<system-out>known deviation: a reload timeout does not fail the "
                            "service on 252"),
              std::string::npos)
        << testcase;
}

TEST(ReportJunit, UnexpectedPassFailsWithTheEntrysFileAndLine) {
    const std::string xml = render_junit(matrix_with_unexpected_pass());
    EXPECT_NE(xml.find("tests=\"4\" failures=\"2\" errors=\"1\""), std::string::npos) << xml;
    const auto at = xml.find("classname=\"on-failure\" name=\"reload-timeout\"");
    ASSERT_NE(at, std::string::npos) << xml;
    const std::string testcase = xml.substr(at, xml.find("</testcase>", at) - at);
    EXPECT_NE(testcase.find("<failure message=\"listed as a known deviation "
                            "(scenarios/expectations/systemd-252.toml:19: a reload timeout does "
                            "not fail the service on 252) but now agrees with the manual\" "
                            "type=\"unexpected-pass\">pid 5000 killed"),
              std::string::npos)
        << testcase;
}

TEST(ReportJunit, UnexpectedPassWithoutReasonStillSaysWhy) {
    MatrixReport report = matrix_with_unexpected_pass();
    report.cells[1].reason.clear();
    EXPECT_NE(render_junit(report).find(
                  "message=\"listed as a known deviation but now agrees with the manual\""),
              std::string::npos);
}

TEST(ReportJunit, EscapesMarkupQuotesAndControlCharacters) {
    MatrixReport report = small_matrix();
    report.cells[3].evidence = "escape \x1b[31m and tab\there";
    const std::string xml = render_junit(report);
    EXPECT_NE(xml.find("message=\"unit would not start: &lt;ExecStart&gt; &amp; "
                       "&quot;quotes&quot; | pipe\""),
              std::string::npos)
        << xml;
    EXPECT_NE(xml.find(">pid 6000 &lt;died&gt; &amp; &quot;stayed&quot; down</failure>"),
              std::string::npos)
        << xml;
    EXPECT_EQ(xml.find('\x1b'), std::string::npos) << "a raw ESC makes the XML ill-formed";
    EXPECT_NE(xml.find("escape \\x1b[31m and tab\there"), std::string::npos) << xml;
    EXPECT_EQ(xml.find("<died>"), std::string::npos);
}

TEST(ReportTable, WithoutColourHasNoEscapes) {
    const std::string table = render_table(small_matrix(), false, true);
    EXPECT_EQ(table.find('\x1b'), std::string::npos) << table;
}

TEST(ReportTable, WithColourPaintsTheCells) {
    const std::string table = render_table(small_matrix(), true, false);
    EXPECT_NE(table.find('\x1b'), std::string::npos) << table;
    EXPECT_NE(table.find("\x1b[1;31m✗ 0\x1b[0m"), std::string::npos) << "fail is red bold\n"
                                                                     << table;
}

TEST(ReportTable, GridFollowsTable2Layout) {
    const auto lines = lines_of(render_table(small_matrix(), false, false));
    ASSERT_GE(lines.size(), 4U);
    EXPECT_EQ(lines[0], "cause \\ Restart=  on-failure  always");
    EXPECT_EQ(lines[2], "sigabrt           ✓ 1         ✗ 0");
    EXPECT_EQ(lines[3], "reload-timeout    ≈ –         ERR");
}

TEST(ReportTable, ColumnsAlignByDisplayWidthNotBytes) {
    // "✓ 1" is 5 bytes but 3 columns; "ERR" is 3 of each. Both must leave the
    // next column at the same place.
    MatrixReport report = small_matrix();
    report.restarts.push_back(RestartValue::no);
    for (auto cell : std::vector<CellResult>(report.cells.begin(), report.cells.begin() + 2)) {
        cell.restart = RestartValue::no;
        report.cells.push_back(cell);
    }
    const auto lines = lines_of(render_table(report, false, false));
    EXPECT_EQ(lines[2], "sigabrt           ✓ 1         ✗ 0     ✓ 1");
    EXPECT_EQ(lines[3], "reload-timeout    ≈ –         ERR     ≈ –");
}

TEST(ReportTable, UnexpectedPassHasItsOwnMarkColourAndLegend) {
    const MatrixReport report = matrix_with_unexpected_pass();
    const auto lines = lines_of(render_table(report, false, false));
    EXPECT_EQ(lines[2], "sigabrt           ✓ 1         ✗ 0");
    EXPECT_EQ(lines[3], "reload-timeout    ≉ 1         ERR");

    const std::string coloured = render_table(report, true, false);
    EXPECT_NE(coloured.find("\x1b[1;36m≉ 1\x1b[0m"), std::string::npos) << "cyan bold\n"
                                                                        << coloured;
    EXPECT_NE(coloured.find("\x1b[1;36m≉\x1b[0m unexpected pass"), std::string::npos)
        << "in the legend\n"
        << coloured;
    EXPECT_NE(render_table(report, false, false).find("≉ unexpected pass  ✗ fail"),
              std::string::npos);
}

TEST(ReportTable, UnexpectedPassIsCountedAndListedWithItsEntry) {
    const std::string table = render_table(matrix_with_unexpected_pass(), false, false);
    EXPECT_NE(table.find("4 cells: 1 pass, 0 known-deviation, 1 unexpected-pass, 1 fail, 1 error, "
                         "0 n/a — 1234 ms wall on systemd 252.38-1~deb12u1\n"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("on-failure/reload-timeout  unexpected-pass: listed as a known deviation "
                         "(scenarios/expectations/systemd-252.toml:19: a reload timeout does not "
                         "fail the service on 252) but now agrees with the manual\n  evidence: "
                         "pid 5000 killed"),
              std::string::npos)
        << table;
}

TEST(ReportTable, SummaryLineCountsEveryVerdict) {
    const std::string table = render_table(small_matrix(), false, false);
    EXPECT_NE(table.find("4 cells: 1 pass, 1 known-deviation, 1 fail, 1 error, 0 n/a — 1234 ms "
                         "wall on systemd 252.38-1~deb12u1\n"),
              std::string::npos)
        << table;
}

// The known deviation reached its verdict on a second attempt (its first
// start timed out before the reload).
MatrixReport matrix_with_a_retry() {
    MatrixReport report = small_matrix();
    report.cells[1].retries = 1;
    return report;
}

TEST(ReportTable, SummaryLineCountsRetriedCellsOnlyWhenThereAreAny) {
    EXPECT_EQ(summary_line(matrix_with_a_retry()),
              "4 cells: 1 pass, 1 known-deviation, 1 fail, 1 error, 0 n/a, 1 retried — 1234 ms "
              "wall on systemd 252.38-1~deb12u1");
    MatrixReport twice = matrix_with_a_retry();
    twice.cells[2].retries = 2; // a cell retried twice is one retried cell
    twice.cells[0].retries = 1;
    EXPECT_NE(summary_line(twice).find(", 0 n/a, 3 retried — "), std::string::npos)
        << summary_line(twice);
    EXPECT_EQ(summary_line(small_matrix()).find("retried"), std::string::npos)
        << summary_line(small_matrix());
}

TEST(ReportJson, AttemptsPerCellAndRetriedInTheSummary) {
    const auto json = nlohmann::json::parse(render_json(matrix_with_a_retry()));
    EXPECT_EQ(json["summary"]["retried"], 1);
    EXPECT_EQ(json["cells"][0]["attempts"], 1);
    EXPECT_EQ(json["cells"][1]["attempts"], 2);
}

TEST(ReportJunit, RetriedCountIsASuiteProperty) {
    const std::string xml = render_junit(matrix_with_a_retry());
    EXPECT_NE(xml.find("<property name=\"retried\" value=\"1\"/>"), std::string::npos) << xml;
}

TEST(ReportMarkdown, SummaryCountsRetriedCells) {
    const std::string markdown = render_markdown(matrix_with_a_retry());
    EXPECT_NE(markdown.find("0 n/a, 1 retried — 1234 ms"), std::string::npos) << markdown;
}

TEST(ReportTable, ListsReasonsAndEvidenceOfCellsNeedingAttention) {
    const std::string table = render_table(small_matrix(), false, false);
    EXPECT_NE(table.find("on-failure/reload-timeout  known-deviation: a reload timeout does not "
                         "fail the service on 252\n  evidence: pid 5000 kept serving\n"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("always/sigabrt  fail: expected restart, observed none\n"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("always/reload-timeout  error: unit would not start"), std::string::npos)
        << table;
    EXPECT_EQ(table.find("on-failure/sigabrt"), std::string::npos)
        << "a pass is not listed without --show-evidence\n"
        << table;
}

TEST(ReportTable, ShowEvidenceListsEveryCell) {
    const std::string table = render_table(small_matrix(), false, true);
    EXPECT_NE(table.find("on-failure/sigabrt  pass  restarted 1 (supervisor 1) after 103 ms; pid "
                         "4242 died SIGABRT, pid 4243 started 103 ms later\n"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("always/sigabrt  fail  stayed down (supervisor 0); pid 6000"),
              std::string::npos)
        << table;
}

TEST(ReportMarkdown, OneRowPerCauseUnderAHeader) {
    const std::string markdown = render_markdown(small_matrix());
    const auto lines = lines_of(markdown);
    const auto rows = std::count_if(lines.begin(), lines.end(),
                                    [](const std::string& line) { return line.starts_with("|"); });
    EXPECT_EQ(rows, 2 + 2) << "header, separator and one row per cause\n" << markdown;
    EXPECT_EQ(lines[0], "| cause \\\\ Restart= | on-failure | always |");
    EXPECT_EQ(lines[2], "| sigabrt | ✓ 1 | ✗ 0 |");
    EXPECT_EQ(lines[3], "| reload-timeout | ≈ – | ERR |");
}

TEST(ReportMarkdown, SummaryAndDeviationsFollowTheTable) {
    const std::string markdown = render_markdown(small_matrix());
    EXPECT_NE(markdown.find("4 cells: 1 pass, 1 known-deviation, 1 fail, 1 error, 0 n/a"),
              std::string::npos)
        << markdown;
    const auto heading = markdown.find("Known deviations, unexpected passes and failures");
    ASSERT_NE(heading, std::string::npos) << markdown;
    EXPECT_NE(markdown.find("**on-failure/reload-timeout** known-deviation:", heading),
              std::string::npos)
        << markdown;
}

TEST(ReportMarkdown, UnexpectedPassIsMarkedAndListed) {
    const std::string markdown = render_markdown(matrix_with_unexpected_pass());
    const auto lines = lines_of(markdown);
    EXPECT_EQ(lines[3], "| reload-timeout | ≉ 1 | ERR |");
    EXPECT_NE(markdown.find("≉ unexpected pass"), std::string::npos) << "legend\n" << markdown;
    EXPECT_NE(markdown.find("- **on-failure/reload-timeout** unexpected-pass: listed as a known "
                            "deviation (scenarios/expectations/systemd-252.toml:19: "),
              std::string::npos)
        << markdown;
}

TEST(ReportMarkdown, EscapesPipesAndMarkup) {
    MatrixReport report = small_matrix();
    report.causes[1] = "odd|cause";
    report.cells[1].cause = "odd|cause";
    report.cells[3].cause = "odd|cause";
    const std::string markdown = render_markdown(report);
    EXPECT_NE(markdown.find("| odd\\|cause | ≈ – | ERR |"), std::string::npos) << markdown;
    EXPECT_NE(markdown.find("\\<ExecStart\\> & \"quotes\" \\| pipe"), std::string::npos)
        << markdown;
    EXPECT_EQ(markdown.find("odd|cause"), std::string::npos) << markdown;
}

} // namespace
} // namespace crashloop
