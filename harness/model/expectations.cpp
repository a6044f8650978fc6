#include "expectations.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <set>
#include <sstream>
#include <utility>

#include <toml++/toml.h>

#include "errors.hpp"
#include "toml_input.hpp"

namespace crashloop {

namespace {





const toml::node& require(const toml::table& table, std::string_view key, const std::string& file) {
    const toml::node* node = table.get(key);
    if (node == nullptr)
        throw InputError(file, line_of(table),
                         "expected '" + std::string(key) + "' in [[deviation]], got none");
    return *node;
}

// --- one [[deviation]] -----------------------------------------------------------

std::string restart_values_list() {
    std::string out;
    for (RestartValue value : all_restart_values)
        out += (out.empty() ? "" : ", ") + std::string(to_string(value));
    return out;
}

RestartValue parse_value(const toml::node& node, const std::string& file) {
    const auto* text = node.as_string();
    std::optional<RestartValue> value = text ? parse_restart_value(text->get()) : std::nullopt;
    if (!value)
        throw InputError(file, line_of(node),
                         "expected a Restart= value (" + restart_values_list() +
                             ") or \"*\", got " + shown(node));
    return *value;
}

// restart = "*" | "on-failure" | ["on-failure", "always"]
std::vector<RestartValue> parse_restarts(const toml::node& node, const std::string& file) {
    if (const auto* text = node.as_string(); text != nullptr && text->get() == "*")
        return {all_restart_values.begin(), all_restart_values.end()};
    if (node.is_string()) return {parse_value(node, file)};
    const auto* array = node.as_array();
    if (array == nullptr || array->empty())
        throw InputError(file, line_of(node),
                         "expected restart to be \"*\", a Restart= value or a non-empty array of "
                         "them, got " +
                             (array ? std::string("an empty array") : shown(node)));
    std::vector<RestartValue> values;
    for (const toml::node& entry : *array) {
        RestartValue value = parse_value(entry, file);
        if (std::find(values.begin(), values.end(), value) != values.end())
            throw InputError(file, line_of(entry),
                             "expected each Restart= value once, got " + shown(entry) + " again");
        values.push_back(value);
    }
    return values;
}

KnownDeviation parse_deviation(const toml::table& table, const std::string& file) {
    reject_unknown_keys(table, {"cause", "restart", "restarted", "reason"}, file, "[[deviation]]");
    KnownDeviation deviation;
    deviation.file = file;
    deviation.line = line_of(table);

    // Which causes exist is the causes file's business; only the id's shape is
    // checked here, so this file loads on its own.
    const toml::node& cause = require(table, "cause", file);
    const auto* cause_text = cause.as_string();
    const bool valid_id =
        cause_text != nullptr && !cause_text->get().empty() &&
        std::all_of(cause_text->get().begin(), cause_text->get().end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        });
    if (!valid_id)
        throw InputError(file, line_of(cause),
                         "expected cause to be an exit cause id ([a-z0-9-]+), got " + shown(cause));
    deviation.cause = cause_text->get();

    deviation.restarts = parse_restarts(require(table, "restart", file), file);

    const toml::node& restarted = require(table, "restarted", file);
    const auto* flag = restarted.as_boolean();
    if (flag == nullptr)
        throw InputError(file, line_of(restarted),
                         "expected restarted = true or false, got " + shown(restarted));
    deviation.restarted = flag->get();

    const toml::node& reason = require(table, "reason", file);
    const auto* reason_text = reason.as_string();
    if (reason_text == nullptr || std::all_of(reason_text->get().begin(), reason_text->get().end(),
                                              [](unsigned char c) { return std::isspace(c); }))
        throw InputError(file, line_of(reason),
                         "expected a reason saying why the supervisor differs, got " +
                             (reason_text ? std::string("an empty one") : shown(reason)));
    deviation.reason = reason_text->get();
    return deviation;
}

// "252.38-1~deb12u1" → "252"; "" when the version does not start with a digit.
std::string major_version(const std::string& version) {
    auto end = std::find_if(version.begin(), version.end(),
                            [](unsigned char c) { return !std::isdigit(c); });
    return {version.begin(), end};
}

} // namespace

Expectations Expectations::load(const std::filesystem::path& file) {
    const std::string name = file.string();
    const toml::table doc = parse_toml(file);
    reject_unknown_keys(doc, {"deviation"}, name, "an expectations file");

    Expectations expectations;
    expectations.source_ = name;
    const toml::node* list = doc.get("deviation");
    if (list == nullptr) return expectations; // a supervisor that keeps to the manual
    const auto* array = list->as_array();
    if (array == nullptr)
        throw InputError(name, line_of(*list),
                         "expected [[deviation]] tables, got " + shown(*list));

    // A cell listed twice would make the answer depend on the order of the file.
    std::set<std::pair<std::string, RestartValue>> cells;
    for (const toml::node& entry : *array) {
        const auto* table = entry.as_table();
        if (table == nullptr)
            throw InputError(name, line_of(entry),
                             "expected a [[deviation]] table, got " + shown(entry));
        KnownDeviation deviation = parse_deviation(*table, name);
        for (RestartValue value : deviation.restarts) {
            if (!cells.emplace(deviation.cause, value).second)
                throw InputError(name, deviation.line,
                                 "expected each cell at most once, got " + deviation.cause + " × " +
                                     std::string(to_string(value)) + " again");
        }
        expectations.deviations_.push_back(std::move(deviation));
    }
    return expectations;
}

Expectations Expectations::for_supervisor(const std::filesystem::path& scenarios_dir,
                                          const std::string& supervisor,
                                          const std::string& version) {
    const std::filesystem::path dir = scenarios_dir / "expectations";
    std::vector<std::filesystem::path> candidates;
    if (const std::string major = major_version(version); !major.empty())
        candidates.push_back(dir / (supervisor + "-" + major + ".toml"));
    candidates.push_back(dir / (supervisor + ".toml"));

    // Present in any form (a dangling link, a loop, a directory, unreadable) is loaded, and
    // fails with its name: a broken file must not make the known deviations vanish.
    for (const auto& candidate : candidates) {
        std::error_code ec;
        const auto status = std::filesystem::symlink_status(candidate, ec);
        if (!ec && status.type() != std::filesystem::file_type::not_found) return load(candidate);
    }
    return {}; // no known deviations: every cell is judged by the table alone
}

void Expectations::check_causes(const std::vector<ExitCause>& causes) const {
    for (const auto& deviation : deviations_)
        if (std::none_of(causes.begin(), causes.end(),
                         [&](const ExitCause& cause) { return cause.id == deviation.cause; }))
            throw InputError(deviation.file, deviation.line,
                             "expected a cause id of causes.toml, got '" + deviation.cause + "'");
}

const KnownDeviation* Expectations::find(const std::string& cause, RestartValue value) const {
    for (const KnownDeviation& deviation : deviations_) {
        if (deviation.cause == cause &&
            std::find(deviation.restarts.begin(), deviation.restarts.end(), value) !=
                deviation.restarts.end())
            return &deviation;
    }
    return nullptr;
}

} // namespace crashloop
