#pragma once
// soak --real --logrotate: the user's logrotate configuration, run by Debian's own logrotate
// (-f, a state file of the run's), so that its postrotate script is what asks for the reload.
// The configuration is copied with its logs moved into the daemon's own log folder (never
// the host's), and the commands a postrotate asks for a reload with (systemctl, invoke-rc.d,
// service) replaced by crashloop's router: a shell script that hands each request to the
// running crashloop through a FIFO, which asks the run's own supervisor and answers with its
// exit status. logger's words are kept for the report.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace crashloop {

// The configuration as the run uses it. InputError (file, line) for what logrotate would
// misread or what would reach the host: an unbalanced brace, a script with no endscript, an
// include (it would rotate the host's own logs).
struct LogrotateConfig {
    std::string text;
    std::vector<std::string> changes; // "line 1: /var/log/apache2/*.log → /srv/log/*.log"
};
LogrotateConfig rewrite_logrotate_config(const std::string& text, const std::string& file,
                                         const std::filesystem::path& log_dir,
                                         const std::filesystem::path& router_dir);

// One request a postrotate made through the router.
struct RoutedRequest {
    std::string command; // systemctl, invoke-rc.d, service
    std::string verb;    // reload, force-reload, is-active …
    std::string unit;    // as the script named it: apache2, httpd.service
    std::string reply;   // the FIFO the router waits on
};

// The router's folder: the scripts (systemctl, invoke-rc.d, service, logger), the request
// FIFO crashloop reads, and logger's output. Made in `dir`, which the caller removes.
class RequestRouter {
  public:
    explicit RequestRouter(std::filesystem::path dir);
    ~RequestRouter();
    RequestRouter(const RequestRouter&) = delete;
    RequestRouter& operator=(const RequestRouter&) = delete;

    const std::filesystem::path& dir() const { return dir_; }
    int fd() const { return fd_; } // readable when a request waits
    // The complete requests waiting (a half-written line waits for the next call).
    std::vector<RoutedRequest> take();
    // The router's exit status for the request, and words for its stderr.
    static void answer(const RoutedRequest& request, int status, const std::string& words);
    // What logger was given since the last call, line by line.
    std::vector<std::string> logged();

  private:
    std::filesystem::path dir_;
    int fd_ = -1;
    std::string pending_;
    std::uintmax_t logged_offset_ = 0;
};

} // namespace crashloop
