// The JSON report: the machine-readable contract CI and scripts read. Keys keep
// the contract's order (ordered_json) so a diff of two runs reads top to bottom.
#include <nlohmann/json.hpp>
#include <string>

#include "report.hpp"

namespace crashloop {

namespace {

using Json = nlohmann::ordered_json;

Json optional_number(const std::optional<long long>& value) {
    return value ? Json(*value) : Json(nullptr);
}

Json incarnation_json(const Incarnation& incarnation) {
    return Json{
        {"number", incarnation.number},         {"pid", incarnation.pid},
        {"started_ns", incarnation.started_ns}, {"ready_ns", optional_number(incarnation.ready_ns)},
        {"last_event", incarnation.last_event},
    };
}

Json observed_json(const Observation& observed) {
    Json out = {
        {"restarted", observed.restarted},
        {"restarts", observed.restarts},
        {"supervisor_restarts", observed.supervisor_restarts},
    };
    if (observed.exit_code) out["exit_code"] = *observed.exit_code;
    if (observed.signal) out["signal"] = signal_name(*observed.signal); // "SIGABRT"
    out["result"] = observed.result;
    out["delay_ms"] = optional_number(observed.delay_ms);
    out["final_state"] = observed.final_state;
    out["final_result"] = observed.final_result;
    out["start_limit_hit"] = observed.start_limit_hit;
    Json incarnations = Json::array();
    for (const auto& incarnation : observed.incarnations)
        incarnations.push_back(incarnation_json(incarnation));
    out["incarnations"] = std::move(incarnations);
    return out;
}

Json cell_json(const CellResult& cell) {
    return Json{
        {"restart", to_string(cell.restart)},
        {"cause", cell.cause},
        {"expected", {{"restarted", cell.expected_restarted}}},
        {"observed", observed_json(cell.observed)},
        {"verdict", to_string(cell.verdict)},
        {"reason", cell.reason},
        {"evidence", cell.evidence},
        {"duration_ms", cell.duration.count()},
        {"attempts", cell.retries + 1},
        {"unchecked", cell.unchecked},
    };
}

} // namespace

std::string render_json(const MatrixReport& report) {
    Json summary = {{"pass", 0}, {"fail", 0}, {"known-deviation", 0}, {"unexpected-pass", 0},
                    {"n/a", 0},  {"error", 0}};
    Json cells = Json::array();
    for (const auto& cell : report.cells) {
        auto& counter = summary[std::string(to_string(cell.verdict))];
        counter = counter.get<int>() + 1;
        cells.push_back(cell_json(cell));
    }
    summary["retried"] = retried_cells(report);
    Json unchecked = Json::object();
    for (const auto& cell : report.cells)
        for (const auto& what : cell.unchecked) unchecked[what] = unchecked.value(what, 0) + 1;
    summary["unchecked"] = std::move(unchecked);
    const Json out = {
        {"supervisor", {{"name", report.supervisor}, {"version", report.supervisor_version}}},
        {"expectations",
         report.expectations_file.empty() ? Json(nullptr) : Json(report.expectations_file)},
        {"wall_ms", report.wall.count()},
        {"summary", std::move(summary)},
        {"cells", std::move(cells)},
    };
    // Evidence quotes the fixture's and systemd's own output; a stray invalid
    // UTF-8 byte there must not abort the whole report (dump() throws by default).
    return out.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

} // namespace crashloop
