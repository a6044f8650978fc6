// `crashloop list`: the cells a selection would run, one per line, in the order a matrix
// reports them, with the manual's answer: what another project's build reads to name its own
// tests (one per cell), so that it never keeps a copy of the table.
// `crashloop cell`: one cell of a JSON report, as a test's answer: its verdict and
// evidence on stdout, and an exit status CTest reads (cmake/crashloopConfig.cmake).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include "common.hpp"
#include "errors.hpp"
#include "private_systemd.hpp" // scenarios_dir()

namespace crashloop::cli {

namespace {

class ListCommand : public Command {
  public:
    explicit ListCommand(CLI::App& app) {
        app_ = app.add_subcommand(
            "list", "Print the cells a selection would run: RESTART/CAUSE, then Table 2's answer");
        app_->add_option("--restart", restarts_, "Restart= values: all, or a comma list")
            ->default_val("all");
        app_->add_option("--cause", causes_,
                         "Exit causes: all, table, modifier, story, or a comma list of ids")
            ->default_val("all");
    }

    int run(const Globals& globals) override {
        const std::filesystem::path scenarios =
            globals.scenarios.empty() ? scenarios_dir() : std::filesystem::path(globals.scenarios);
        const RestartTable table = RestartTable::load(scenarios / "table.toml");
        const auto causes = select_causes(load_exit_causes(scenarios / "causes.toml"), causes_);
        const auto restarts = parse_restart_list(restarts_);
        std::string out;
        for (const auto& cause : causes)
            for (RestartValue value : restarts)
                out += std::string(to_string(value)) + "/" + cause.id + "\t" +
                       (expected_restart(table, value, cause) ? "restarts" : "stays-down") + "\n";
        write_report(out, "");
        return 0;
    }

  private:
    std::string restarts_ = "all", causes_ = "all";
};

// Exit status of `crashloop cell`: as matrix for the cell's verdict, and 77 for n/a
// (CTest's SKIP_RETURN_CODE: "not run", with the reason).
constexpr int kNotApplicable = 77;

class CellCommand : public Command {
  public:
    explicit CellCommand(CLI::App& app) {
        app_ = app.add_subcommand(
            "cell", "Print one cell of a matrix's JSON report; exit 0 pass or known deviation, "
                    "1 fail, error or unexpected pass, 77 n/a, 2 no such cell or report");
        app_->add_option("--report", report_, "The JSON report (matrix --format json -o FILE)")
            ->required();
        app_->add_option("cell", cell_, "RESTART/CAUSE, as crashloop list prints it")->required();
    }

    int run(const Globals&) override {
        std::ifstream in(report_);
        if (!in) throw InputError(report_, 0, "expected a JSON report of crashloop matrix, got none");
        nlohmann::json report;
        try {
            report = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            throw InputError(report_, 0, std::string("expected a JSON report: ") + e.what());
        }
        const auto cells = report.find("cells");
        if (cells == report.end() || !cells->is_array())
            throw InputError(report_, 0, "expected a JSON report with \"cells\", got none");
        // A field that is missing or not a string (a compare report's null verdict) reads as "".
        auto text_of = [](const nlohmann::json& object, const char* key) {
            const auto it = object.find(key);
            return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        for (const auto& cell : *cells) {
            if (!cell.is_object()) continue;
            const std::string id = text_of(cell, "restart") + "/" + text_of(cell, "cause");
            if (id != cell_) continue;
            const std::string verdict = text_of(cell, "verdict");
            if (verdict.empty())
                throw InputError(report_, 0, "expected a verdict for " + id + " (a matrix report), got none");
            const std::string reason = text_of(cell, "reason");
            std::string text = id + ": " + verdict + (reason.empty() ? "" : " — " + reason) + "\n";
            if (const std::string evidence = text_of(cell, "evidence"); !evidence.empty())
                text += "  evidence: " + evidence + "\n";
            if (const auto supervisor = report.find("supervisor");
                supervisor != report.end() && supervisor->is_object())
                text += "  on " + text_of(*supervisor, "name") + " " + text_of(*supervisor, "version") + "\n";
            write_report(text, "");
            if (verdict == "pass" || verdict == "known-deviation") return 0;
            if (verdict == "n/a") return kNotApplicable;
            return 1;
        }
        throw InputError(report_, 0, "expected the cell " + cell_ + " in the report, got none");
    }

  private:
    std::string report_, cell_;
};

} // namespace

std::unique_ptr<Command> list_command(CLI::App& app) { return std::make_unique<ListCommand>(app); }
std::unique_ptr<Command> cell_command(CLI::App& app) { return std::make_unique<CellCommand>(app); }

} // namespace crashloop::cli
