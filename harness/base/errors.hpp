#pragma once
// The errors library code throws; only the CLI turns them into exit codes.
//
// Bad input (a scenario file, a unit file, a command-line value): always names
// the file and line, and what was expected there. The CLI maps it to exit 2.
#include <stdexcept>
#include <string>

namespace crashloop {

class InputError : public std::runtime_error {
  public:
    InputError(std::string file, int line, const std::string& what)
        : std::runtime_error(line > 0 ? file + ":" + std::to_string(line) + ": " + what
                                      : file + ": " + what),
          file_(std::move(file)), line_(line) {}
    const std::string& file() const { return file_; }
    int line() const { return line_; }

  private:
    std::string file_;
    int line_;
};

// The supervisor failed us (would not start, dropped its connection, refused a service).
class SupervisorError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Ctrl-C (or SIGTERM) reached the run: nothing is reported.
class Interrupted : public std::runtime_error {
  public:
    Interrupted() : std::runtime_error("interrupted") {}
};

} // namespace crashloop
