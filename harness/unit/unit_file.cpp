#include "unit_file.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "errors.hpp"

namespace crashloop {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view whitespace = " \t\n\r";
constexpr std::string_view comment_starts = "#;";

// The keys systemd 252 knows in the sections of a service unit, from
// `systemd --dump-configuration-items` (src/core/load-fragment-gperf.gperf.in)
// plus [Install], which systemctl reads (src/shared/install.c). Anything else
// is kept and ignored with a warning, as systemd does.
constexpr std::string_view unit_keys = R"(
Description Documentation SourcePath Requires Requisite Wants BindsTo BindTo Upholds
Conflicts Before After OnSuccess OnFailure PropagatesReloadTo PropagateReloadTo
ReloadPropagatedFrom PropagateReloadFrom PropagatesStopTo StopPropagatedFrom PartOf
JoinsNamespaceOf RequiresOverridable RequisiteOverridable RequiresMountsFor
StopWhenUnneeded RefuseManualStart RefuseManualStop AllowIsolate DefaultDependencies
OnSuccessJobMode OnFailureJobMode OnFailureIsolate IgnoreOnIsolate JobTimeoutSec
JobRunningTimeoutSec JobTimeoutAction JobTimeoutRebootArgument StartLimitIntervalSec
StartLimitInterval StartLimitBurst StartLimitAction FailureAction SuccessAction
FailureActionExitStatus SuccessActionExitStatus RebootArgument ConditionPathExists
ConditionPathExistsGlob ConditionPathIsDirectory ConditionPathIsSymbolicLink
ConditionPathIsMountPoint ConditionPathIsReadWrite ConditionPathIsEncrypted
ConditionDirectoryNotEmpty ConditionFileNotEmpty ConditionFileIsExecutable
ConditionNeedsUpdate ConditionFirstBoot ConditionArchitecture ConditionFirmware
ConditionVirtualization ConditionHost ConditionKernelCommandLine ConditionKernelVersion
ConditionCredential ConditionSecurity ConditionCapability ConditionACPower ConditionMemory
ConditionCPUFeature ConditionCPUs ConditionEnvironment ConditionUser ConditionGroup
ConditionControlGroupController ConditionOSRelease ConditionMemoryPressure
ConditionCPUPressure ConditionIOPressure AssertPathExists AssertPathExistsGlob
AssertPathIsDirectory AssertPathIsSymbolicLink AssertPathIsMountPoint AssertPathIsReadWrite
AssertPathIsEncrypted AssertDirectoryNotEmpty AssertFileNotEmpty AssertFileIsExecutable
AssertNeedsUpdate AssertFirstBoot AssertArchitecture AssertVirtualization AssertHost
AssertKernelCommandLine AssertKernelVersion AssertCredential AssertSecurity
AssertCapability AssertACPower AssertMemory AssertCPUFeature AssertCPUs AssertEnvironment
AssertUser AssertGroup AssertControlGroupController AssertOSRelease AssertMemoryPressure
AssertCPUPressure AssertIOPressure CollectMode
)";

constexpr std::string_view service_keys = R"(
PIDFile ExecCondition ExecStartPre ExecStart ExecStartPost ExecReload ExecStop ExecStopPost
RestartSec TimeoutSec TimeoutStartSec TimeoutStopSec TimeoutAbortSec
TimeoutStartFailureMode TimeoutStopFailureMode RuntimeMaxSec RuntimeRandomizedExtraSec
WatchdogSec StartLimitInterval StartLimitBurst StartLimitAction FailureAction
RebootArgument Type ExitType Restart PermissionsStartOnly RootDirectoryStartOnly
RemainAfterExit GuessMainPID RestartPreventExitStatus RestartForceExitStatus
SuccessExitStatus NonBlocking BusName FileDescriptorStoreMax NotifyAccess Sockets
USBFunctionDescriptors USBFunctionStrings OOMPolicy WorkingDirectory RootDirectory
RootImage RootImageOptions RootHash RootHashSignature RootVerity ExtensionDirectories
ExtensionImages MountImages User Group SupplementaryGroups Nice OOMScoreAdjust
CoredumpFilter IOSchedulingClass IOSchedulingPriority CPUSchedulingPolicy
CPUSchedulingPriority CPUSchedulingResetOnFork CPUAffinity NUMAPolicy NUMAMask UMask
Environment EnvironmentFile PassEnvironment UnsetEnvironment DynamicUser RemoveIPC
StandardInput StandardOutput StandardError StandardInputText StandardInputData TTYPath
TTYReset TTYVHangup TTYVTDisallocate TTYRows TTYColumns SyslogIdentifier SyslogFacility
SyslogLevel SyslogLevelPrefix LogLevelMax LogRateLimitIntervalSec LogRateLimitBurst
LogExtraFields SecureBits CapabilityBoundingSet AmbientCapabilities TimerSlackNSec
NoNewPrivileges KeyringMode ProtectProc ProcSubset SystemCallFilter SystemCallArchitectures
SystemCallErrorNumber SystemCallLog MemoryDenyWriteExecute RestrictNamespaces
RestrictRealtime RestrictSUIDSGID RestrictAddressFamilies LockPersonality
RestrictFileSystems LimitCPU LimitFSIZE LimitDATA LimitSTACK LimitCORE LimitRSS LimitNOFILE
LimitAS LimitNPROC LimitMEMLOCK LimitLOCKS LimitSIGPENDING LimitMSGQUEUE LimitNICE
LimitRTPRIO LimitRTTIME ReadWriteDirectories ReadOnlyDirectories InaccessibleDirectories
ReadWritePaths ReadOnlyPaths InaccessiblePaths ExecPaths NoExecPaths ExecSearchPath
BindPaths BindReadOnlyPaths TemporaryFileSystem PrivateTmp PrivateDevices
ProtectKernelTunables ProtectKernelModules ProtectKernelLogs ProtectClock
ProtectControlGroups NetworkNamespacePath IPCNamespacePath LogNamespace PrivateNetwork
PrivateUsers PrivateMounts PrivateIPC ProtectSystem ProtectHome MountFlags MountAPIVFS
Personality RuntimeDirectoryPreserve RuntimeDirectoryMode RuntimeDirectory
StateDirectoryMode StateDirectory CacheDirectoryMode CacheDirectory LogsDirectoryMode
LogsDirectory ConfigurationDirectoryMode ConfigurationDirectory SetCredential
SetCredentialEncrypted LoadCredential LoadCredentialEncrypted TimeoutCleanSec PAMName
IgnoreSIGPIPE UtmpIdentifier UtmpMode SELinuxContext AppArmorProfile SmackProcessLabel
ProtectHostname Slice AllowedCPUs StartupAllowedCPUs AllowedMemoryNodes
StartupAllowedMemoryNodes CPUAccounting CPUWeight StartupCPUWeight CPUShares
StartupCPUShares CPUQuota CPUQuotaPeriodSec MemoryAccounting MemoryMin DefaultMemoryMin
DefaultMemoryLow MemoryLow MemoryHigh MemoryMax MemorySwapMax MemoryLimit DeviceAllow
DevicePolicy IOAccounting IOWeight StartupIOWeight IODeviceWeight IOReadBandwidthMax
IOWriteBandwidthMax IOReadIOPSMax IOWriteIOPSMax IODeviceLatencyTargetSec BlockIOAccounting
BlockIOWeight StartupBlockIOWeight BlockIODeviceWeight BlockIOReadBandwidth
BlockIOWriteBandwidth TasksAccounting TasksMax Delegate DisableControllers IPAccounting
IPAddressAllow IPAddressDeny IPIngressFilterPath IPEgressFilterPath ManagedOOMSwap
ManagedOOMMemoryPressure ManagedOOMMemoryPressureLimit ManagedOOMPreference BPFProgram
SocketBindAllow SocketBindDeny RestrictNetworkInterfaces SendSIGKILL SendSIGHUP KillMode
KillSignal RestartKillSignal FinalKillSignal WatchdogSignal
)";

constexpr std::string_view install_keys = "Alias WantedBy RequiredBy Also DefaultInstance";

// Keys whose assignments add up; an empty assignment empties the list.
constexpr std::string_view list_keys = R"(
Unit.Documentation
Service.ExecCondition Service.ExecStartPre Service.ExecStart Service.ExecStartPost
Service.ExecReload Service.ExecStop Service.ExecStopPost
Service.SuccessExitStatus Service.RestartPreventExitStatus Service.RestartForceExitStatus
Service.Environment Service.EnvironmentFile Service.PassEnvironment Service.UnsetEnvironment
Service.Sockets Service.SupplementaryGroups Service.CPUAffinity Service.StandardInputText
Service.StandardInputData Service.LogExtraFields Service.CapabilityBoundingSet
Service.AmbientCapabilities Service.SystemCallFilter Service.SystemCallArchitectures
Service.SystemCallLog Service.RestrictNamespaces Service.RestrictAddressFamilies
Service.RestrictFileSystems Service.ReadWriteDirectories Service.ReadOnlyDirectories
Service.InaccessibleDirectories Service.ReadWritePaths Service.ReadOnlyPaths
Service.InaccessiblePaths Service.ExecPaths Service.NoExecPaths Service.BindPaths
Service.BindReadOnlyPaths Service.TemporaryFileSystem Service.ExtensionDirectories
Service.ExtensionImages Service.MountImages Service.RuntimeDirectory Service.StateDirectory
Service.CacheDirectory Service.LogsDirectory Service.ConfigurationDirectory
Service.SetCredential Service.SetCredentialEncrypted Service.LoadCredential
Service.LoadCredentialEncrypted Service.AllowedCPUs Service.StartupAllowedCPUs
Service.AllowedMemoryNodes Service.StartupAllowedMemoryNodes Service.DeviceAllow
Service.IODeviceWeight Service.IOReadBandwidthMax Service.IOWriteBandwidthMax
Service.IOReadIOPSMax Service.IOWriteIOPSMax Service.IODeviceLatencyTargetSec
Service.BlockIODeviceWeight Service.BlockIOReadBandwidth Service.BlockIOWriteBandwidth
Service.Delegate Service.DisableControllers Service.IPAddressAllow Service.IPAddressDeny
Service.IPIngressFilterPath Service.IPEgressFilterPath Service.BPFProgram
Service.SocketBindAllow Service.SocketBindDeny Service.RestrictNetworkInterfaces
Install.Alias Install.WantedBy Install.RequiredBy Install.Also
)";

// Dependencies only ever add up: systemd's config_parse_unit_deps() finds no
// unit in an empty value and changes nothing.
constexpr std::string_view dependency_keys = R"(
Requires Requisite Wants BindsTo BindTo Upholds Conflicts Before After OnSuccess OnFailure
PropagatesReloadTo PropagateReloadTo ReloadPropagatedFrom PropagateReloadFrom
PropagatesStopTo StopPropagatedFrom PartOf JoinsNamespaceOf RequiresMountsFor
)";

// The specifiers systemd 252 knows in unit files (systemd.unit(5), "Specifiers").
// crashloop expands those that name the unit; the rest depend on the host or
// the user and are left as written.
constexpr std::string_view known_specifiers = "aAbBCdEfgGhHiIjJlLmMnNopPqsStTuUvVwW";

std::set<std::string, std::less<>> words_of(std::string_view text) {
    std::set<std::string, std::less<>> words;
    std::istringstream in{std::string(text)};
    for (std::string word; in >> word;)
        words.insert(word);
    return words;
}

const std::map<std::string, std::set<std::string, std::less<>>, std::less<>>& known_keys() {
    static const std::map<std::string, std::set<std::string, std::less<>>, std::less<>> keys = {
        {"Unit", words_of(unit_keys)},
        {"Service", words_of(service_keys)},
        {"Install", words_of(install_keys)},
    };
    return keys;
}

enum class KeyKind { single, list, dependency };

KeyKind kind_of(std::string_view section, std::string_view key) {
    static const auto lists = words_of(list_keys);
    static const auto dependencies = words_of(dependency_keys);
    if (section == "Unit" && dependencies.contains(key)) return KeyKind::dependency;
    if (section == "Unit" && (key.starts_with("Condition") || key.starts_with("Assert")))
        return KeyKind::list;
    if (lists.contains(std::string(section) + "." + std::string(key))) return KeyKind::list;
    return KeyKind::single;
}

// An empty Condition…= resets every condition of the unit, not just its own
// kind (systemd.unit(5), "Conditions and Asserts"); likewise for Assert…=.
bool resets(std::string_view empty_key, std::string_view key) {
    for (std::string_view family : {"Condition", "Assert"})
        if (empty_key.starts_with(family) && key.starts_with(family)) return true;
    return empty_key == key;
}

// The section a unit's type adds: [Service] for "httpd.service".
std::string type_section(std::string_view unit_name) {
    static const std::map<std::string, std::string, std::less<>> sections = {
        {"service", "Service"},     {"socket", "Socket"}, {"mount", "Mount"},
        {"automount", "Automount"}, {"swap", "Swap"},     {"timer", "Timer"},
        {"path", "Path"},           {"slice", "Slice"},   {"scope", "Scope"}};
    const auto dot = unit_name.rfind('.');
    if (dot == std::string_view::npos) return {};
    auto found = sections.find(unit_name.substr(dot + 1));
    return found == sections.end() ? std::string{} : found->second;
}

std::string_view strip(std::string_view text) {
    const auto first = text.find_first_not_of(whitespace);
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(whitespace);
    return text.substr(first, last - first + 1);
}

// A line ends in a continuation when it ends in an unescaped backslash (an odd
// run of them), as conf-parser.c's scan does.
bool continues(std::string_view text) {
    bool escaped = false;
    for (char c : text)
        escaped = escaped ? false : c == '\\';
    return escaped;
}

std::string read_whole(const fs::path& file) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
        throw InputError(file.string(), 0, "expected a readable unit file, got nothing there");
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw InputError(file.string(), 0,
                         "expected a readable unit file, got: " +
                             std::string(std::strerror(errno)));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(std::move(line));
    }
    return lines;
}

} // namespace

std::string where(const Assignment& assignment) {
    return assignment.file + ":" + std::to_string(assignment.line);
}

std::vector<fs::path> dropins_in(const fs::path& unit) {
    const fs::path folder = unit.parent_path() / (unit.filename().string() + ".d");
    std::vector<fs::path> found;
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) return found;
    for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) {
        if (entry.path().extension() == ".conf" && entry.is_regular_file(ec))
            found.push_back(entry.path());
    }
    // systemd orders drop-ins by file name alone (conf_files_list(), strcmp).
    std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
        return a.filename().string() < b.filename().string();
    });
    return found;
}

UnitFile UnitFile::load(const fs::path& unit, const std::vector<fs::path>& dropins) {
    UnitFile loaded;
    loaded.name_ = unit.filename().string();
    loaded.read(unit);
    for (const fs::path& dropin : dropins)
        loaded.read(dropin);
    return loaded;
}

// systemd's config_parse(): comment lines are dropped first, even in the middle
// of a continued line; a trailing backslash becomes a space and the next line
// is appended as it is; then the logical line is stripped and parsed.
void UnitFile::read(const fs::path& path) {
    const std::string file = path.string();
    std::string text = read_whole(path);
    if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3); // a UTF-8 byte order mark
    files_.push_back(file);

    const std::string type_name = type_section(name_);
    std::string section;
    bool in_unknown_section = false;
    std::string logical;
    int logical_line = 0;

    auto parse = [&](std::string_view raw, int line) {
        const std::string_view content = strip(raw);
        if (content.empty()) return;
        const std::string shown = "got '" + std::string(content) + "'";
        if (content.front() == '[') {
            if (content.size() < 3 || content.back() != ']')
                throw InputError(file, line, "expected 'Key=Value' or '[Section]', " + shown);
            section = std::string(content.substr(1, content.size() - 2));
            const bool known = known_keys().contains(section) || section == type_name;
            in_unknown_section = !known;
            if (!known && !section.starts_with("X-"))
                warnings_.push_back(file + ":" + std::to_string(line) + ": unknown section [" +
                                    section + "], ignored");
            return;
        }
        const auto equals = content.find('=');
        if (equals == std::string_view::npos || equals == 0)
            throw InputError(file, line, "expected 'Key=Value' or '[Section]', " + shown);
        if (section.empty())
            throw InputError(file, line,
                             "expected 'Key=Value' or '[Section]', " + shown +
                                 " before any [Section]");
        const std::string key(strip(content.substr(0, equals)));
        const std::string_view value = strip(content.substr(equals + 1));

        auto keys = known_keys().find(section);
        if (!in_unknown_section && keys != known_keys().end() && !keys->second.contains(key) &&
            !key.starts_with("X-"))
            warnings_.push_back(file + ":" + std::to_string(line) + ": unknown key '" + key +
                                "' in [" + section + "], ignored");

        entries_.push_back({section, key, {expand_specifiers(value, file, line), file, line}});
    };

    const std::vector<std::string> lines = lines_of(text);
    for (std::size_t index = 0; index < lines.size(); ++index) {
        const int line = static_cast<int>(index) + 1;
        const std::string_view raw = lines[index];
        const std::string_view content = strip(raw);
        if (!content.empty() && comment_starts.find(content.front()) != std::string_view::npos)
            continue;
        if (logical_line == 0) logical_line = line;
        logical += raw;
        if (continues(logical)) {
            logical.back() = ' ';
            continue;
        }
        parse(logical, logical_line);
        logical.clear();
        logical_line = 0;
    }
    if (logical_line != 0) parse(logical, logical_line); // a continuation at the end of the file
}

// systemd's specifier_printf() with the unit specifiers of systemd.unit(5).
std::string UnitFile::expand_specifiers(std::string_view value, const std::string& file, int line) {
    if (value.find('%') == std::string_view::npos) return std::string(value);

    const std::string_view unit = name_;
    const std::string_view without_suffix = unit.substr(0, unit.rfind('.'));
    const auto at = without_suffix.find('@');
    const std::string_view prefix = without_suffix.substr(0, at);
    const std::string_view instance =
        at == std::string_view::npos ? std::string_view{} : without_suffix.substr(at + 1);

    std::string out;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] != '%' || i + 1 == value.size()) { // a stray '%' at the end stays
            out += value[i];
            continue;
        }
        const char specifier = value[++i];
        switch (specifier) {
        case '%':
            out += '%';
            break;
        case 'n':
            out += unit;
            break;
        case 'N':
            out += without_suffix;
            break;
        case 'p':
            out += prefix;
            break;
        case 'i':
            out += instance;
            break;
        default:
            out += '%';
            out += specifier;
            if (std::find(warned_specifiers_.begin(), warned_specifiers_.end(), specifier) ==
                warned_specifiers_.end()) {
                warned_specifiers_.push_back(specifier);
                const bool known = known_specifiers.find(specifier) != std::string_view::npos;
                warnings_.push_back(file + ":" + std::to_string(line) + ": specifier '%" +
                                    std::string(1, specifier) + "' left as written (" +
                                    (known ? "crashloop expands only %n %N %p %i %%"
                                           : "systemd knows no such specifier") +
                                    ")");
            }
            break;
        }
    }
    return out;
}

std::vector<Assignment> UnitFile::all(std::string_view section, std::string_view key) const {
    std::vector<Assignment> found;
    for (const Entry& entry : entries_)
        if (entry.section == section && entry.key == key) found.push_back(entry.assignment);
    return found;
}

std::vector<Assignment> UnitFile::list(std::string_view section, std::string_view key) const {
    const KeyKind kind = kind_of(section, key);
    std::vector<Assignment> in_force;
    for (const Entry& entry : entries_) {
        if (entry.section != section) continue;
        if (entry.assignment.value.empty()) {
            if (kind != KeyKind::dependency && resets(entry.key, key)) in_force.clear();
            continue;
        }
        if (entry.key != key) continue;
        if (kind == KeyKind::single) in_force.clear();
        in_force.push_back(entry.assignment);
    }
    return in_force;
}

std::optional<Assignment> UnitFile::last(std::string_view section, std::string_view key) const {
    std::vector<Assignment> in_force = list(section, key);
    if (in_force.empty()) return std::nullopt;
    return std::move(in_force.back());
}

} // namespace crashloop
