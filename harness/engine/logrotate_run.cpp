#include "logrotate_run.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "errors.hpp"

namespace crashloop {

namespace fs = std::filesystem;

namespace {

// The router, one script under every name it answers to (README, "soak --real").
constexpr const char* kRouter = R"(#!/bin/sh
# crashloop's router for a postrotate script: a reload asked with systemctl, invoke-rc.d or
# service goes to the soak's own supervisor (crashloop asks it and answers with its exit
# status), never to the host's; logger's words are kept for the report.
dir=$(dirname "$0")
name=$(basename "$0")
ask() { # ask VERB UNIT
    reply=$(mktemp -u "$dir/reply.XXXXXX") || exit 1
    mkfifo "$reply" || exit 1
    # Open before asking: crashloop's answer never finds the FIFO without a reader.
    exec 3<>"$reply"
    printf '%s %s %s %s\n' "$name" "${1:--}" "${2:--}" "$reply" >>"$dir/requests"
    read -r code words <&3
    exec 3>&-
    rm -f "$reply"
    [ -n "$words" ] && printf '%s: %s\n' "$name" "$words" >&2
    exit "${code:-1}"
}
first= second=
case $name in
logger)
    tag=logger
    while [ $# -gt 0 ]; do
        case $1 in
        -t) tag=$2; shift 2 ;;
        -*) shift ;;
        *) break ;;
        esac
    done
    if [ $# -gt 0 ]; then echo "$tag: $*"; else sed "s/^/$tag: /"; fi >>"$dir/logger.out"
    exit 0 ;;
systemctl)
    for word in "$@"; do
        case $word in -*) ;; *) if [ -z "$first" ]; then first=$word; elif [ -z "$second" ]; then second=$word; fi ;; esac
    done
    ask "$first" "$second" ;;
*) # invoke-rc.d NAME ACTION, service NAME ACTION
    for word in "$@"; do
        case $word in -*) ;; *) if [ -z "$first" ]; then first=$word; elif [ -z "$second" ]; then second=$word; fi ;; esac
    done
    ask "$second" "$first" ;;
esac
)";

constexpr const char* kRoutedNames[] = {"systemctl", "invoke-rc.d", "service", "logger"};

std::string fmt_line(int number) {
    return "line " + std::to_string(number) + ": ";
}

std::string trimmed(const std::string& line) {
    const auto begin = line.find_first_not_of(" \t");
    if (begin == std::string::npos) return "";
    const auto end = line.find_last_not_of(" \t\r");
    return line.substr(begin, end - begin + 1);
}

std::string first_word(const std::string& line) {
    const std::string t = trimmed(line);
    return t.substr(0, t.find_first_of(" \t"));
}

// The paths of a list of logs, as logrotate splits them: on blanks, a double-quoted path whole
// (quotes kept).
std::vector<std::string> path_words(const std::string& text) {
    std::vector<std::string> words;
    std::string word;
    bool quoted = false;
    for (char c : text) {
        if (c == '"') quoted = !quoted;
        if (!quoted && (c == ' ' || c == '\t')) {
            if (!word.empty()) words.push_back(word);
            word.clear();
            continue;
        }
        word += c;
    }
    if (!word.empty()) words.push_back(word);
    return words;
}

// A path of the configuration moved into the log folder: its file name (a glob, often) kept.
std::string moved(const std::string& token, const fs::path& log_dir) {
    const bool quoted = token.size() >= 2 && token.front() == '"' && token.back() == '"';
    const std::string path = quoted ? token.substr(1, token.size() - 2) : token;
    const std::string name = fs::path(path).filename().string();
    const std::string to = (log_dir / name).string();
    return quoted ? "\"" + to + "\"" : to;
}

// Every absolute name of a routed command in a script line, for the router's own.
std::string routed(std::string line, const fs::path& router_dir) {
    for (const char* name : kRoutedNames)
        for (const char* folder : {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"}) {
            const std::string absolute = std::string(folder) + name;
            for (size_t at = 0; (at = line.find(absolute, at)) != std::string::npos;) {
                const size_t end = at + absolute.size();
                const bool word_end = end == line.size() || std::strchr(" \t;|&)<>", line[end]);
                const bool word_start = at == 0 || std::strchr(" \t;|&(`", line[at - 1]);
                if (!word_end || !word_start) {
                    at = end;
                    continue;
                }
                const std::string ours = (router_dir / name).string();
                line.replace(at, absolute.size(), ours);
                at += ours.size();
            }
        }
    return line;
}

} // namespace

LogrotateConfig rewrite_logrotate_config(const std::string& text, const std::string& file,
                                         const fs::path& log_dir, const fs::path& router_dir) {
    LogrotateConfig out;
    std::istringstream in(text);
    int depth = 0, number = 0, script_line = 0, open_line = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        const std::string t = trimmed(line);
        if (script_line) {
            if (t == "endscript") {
                script_line = 0;
            } else if (std::string r = routed(line, router_dir); r != line) {
                out.changes.push_back(fmt_line(number) + trimmed(line) + " → " + trimmed(r));
                line = r;
            }
            out.text += line + "\n";
            continue;
        }
        const std::string word = first_word(line);
        if (t.empty() || t.starts_with("#")) {
            out.text += line + "\n";
            continue;
        }
        if (word == "include")
            throw InputError(file, number,
                             "include: the run uses this configuration alone, never another "
                             "file (an include would rotate the host's own logs)");
        if (word == "postrotate" || word == "prerotate" || word == "firstaction" ||
            word == "lastaction" || word == "preremove") {
            script_line = number;
            out.text += line + "\n";
            continue;
        }
        if (word == "olddir") {
            // Moves the rotated files: into the log folder too, in a block or globally.
            std::istringstream words(t);
            std::string key, dir;
            words >> key >> dir;
            if (dir.starts_with("/")) {
                const std::string to = (log_dir / fs::path(dir).filename()).string();
                out.changes.push_back(fmt_line(number) + "olddir " + dir + " → " + to);
                line = line.substr(0, line.find_first_not_of(" \t")) + "olddir " + to;
            }
            out.text += line + "\n";
            continue;
        }
        if (t.starts_with("}")) {
            if (--depth < 0) throw InputError(file, number, "a '}' with no '{' before it");
            out.text += line + "\n";
            continue;
        }
        if (depth == 0 && t.find('{') == std::string::npos && !t.starts_with("/") &&
            !t.starts_with("\"")) {
            // A global directive (compress, weekly, su root adm …): the run's as written.
            out.text += line + "\n";
            continue;
        }
        if (depth == 0) {
            // A list of logs, up to its '{' (or on its own line, the '{' to come).
            const auto brace = t.find('{');
            std::string rewritten;
            for (const std::string& token : path_words(t.substr(0, brace))) {
                const std::string to = moved(token, log_dir);
                if (to != token) out.changes.push_back(fmt_line(number) + token + " → " + to);
                rewritten += (rewritten.empty() ? "" : " ") + to;
            }
            if (brace != std::string::npos) {
                ++depth;
                open_line = number;
                rewritten += (rewritten.empty() ? "{" : " {");
                if (trimmed(t.substr(brace + 1)) != "")
                    throw InputError(file, number, "expected nothing after '{' on its line");
            }
            out.text += rewritten + "\n";
            continue;
        }
        if (t.find('{') != std::string::npos)
            throw InputError(file, number, "a '{' inside the block opened on line " +
                                               std::to_string(open_line));
        out.text += line + "\n";
    }
    if (script_line) throw InputError(file, script_line, "a script with no endscript after it");
    if (depth > 0) throw InputError(file, open_line, "a '{' with no '}' after it");
    return out;
}

// ---- the router ----

RequestRouter::RequestRouter(fs::path dir) : dir_(std::move(dir)) {
    std::error_code error;
    fs::create_directories(dir_, error);
    if (error) throw SupervisorError("cannot make " + dir_.string() + ": " + error.message());
    const fs::path script = dir_ / "crashloop-router";
    {
        std::ofstream out(script);
        out << kRouter;
        if (!out.flush()) throw SupervisorError("cannot write " + script.string());
    }
    fs::permissions(script, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
    for (const char* name : kRoutedNames) {
        fs::create_symlink("crashloop-router", dir_ / name, error);
        if (error) throw SupervisorError("cannot link " + (dir_ / name).string() + ": " + error.message());
    }
    const fs::path requests = dir_ / "requests";
    if (mkfifo(requests.c_str(), 0600) != 0)
        throw SupervisorError("mkfifo " + requests.string() + ": " + std::strerror(errno));
    // Read and write: no end of file between two writers, and never a blocked open.
    fd_ = open(requests.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) throw SupervisorError("open " + requests.string() + ": " + std::strerror(errno));
}

RequestRouter::~RequestRouter() {
    if (fd_ >= 0) close(fd_);
}

std::vector<RoutedRequest> RequestRouter::take() {
    char buffer[4096];
    for (ssize_t n; (n = read(fd_, buffer, sizeof buffer)) > 0;)
        pending_.append(buffer, size_t(n));
    std::vector<RoutedRequest> requests;
    for (size_t end; (end = pending_.find('\n')) != std::string::npos;) {
        std::istringstream words(pending_.substr(0, end));
        pending_.erase(0, end + 1);
        RoutedRequest r;
        if (words >> r.command >> r.verb >> r.unit >> r.reply) requests.push_back(r);
    }
    return requests;
}

void RequestRouter::answer(const RoutedRequest& request, int status, const std::string& words) {
    // The router opened its FIFO before asking: this open finds a reader, or the router is gone.
    const int fd = open(request.reply.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return;
    std::string line = std::to_string(status) + " " + words;
    for (char& c : line)
        if (c == '\n') c = ' ';
    line += "\n";
    [[maybe_unused]] auto ignored = write(fd, line.data(), line.size());
    close(fd);
}

std::vector<std::string> RequestRouter::logged() {
    std::ifstream in(dir_ / "logger.out");
    in.seekg(std::streamoff(logged_offset_));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (in.eof()) break; // half written: next time
        lines.push_back(line);
        logged_offset_ += line.size() + 1;
    }
    return lines;
}

} // namespace crashloop
