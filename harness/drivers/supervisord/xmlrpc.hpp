#pragma once
// A small XML-RPC client over a unix stream socket (supervisord's
// [unix_http_server]): one HTTP/1.0 POST to /RPC2 per call, each on a new
// connection, answered before call() returns or its deadline passes.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace crashloop {

struct XmlRpcValue {
    enum class Kind { nil, boolean, integer, real, string, array, structure };
    Kind kind = Kind::nil;
    bool boolean = false;
    int64_t integer = 0;
    double real = 0;
    std::string string;
    std::vector<XmlRpcValue> array;
    std::map<std::string, XmlRpcValue> members;

    XmlRpcValue() = default;
    XmlRpcValue(bool value) : kind(Kind::boolean), boolean(value) {}
    XmlRpcValue(int value) : kind(Kind::integer), integer(value) {}
    XmlRpcValue(int64_t value) : kind(Kind::integer), integer(value) {}
    XmlRpcValue(std::string value) : kind(Kind::string), string(std::move(value)) {}
    XmlRpcValue(const char* value) : kind(Kind::string), string(value) {}
    XmlRpcValue(std::vector<XmlRpcValue> values) : kind(Kind::array), array(std::move(values)) {}
    XmlRpcValue(std::map<std::string, XmlRpcValue> values)
        : kind(Kind::structure), members(std::move(values)) {}

    // Typed reads; throw XmlRpcError naming what was there instead.
    int64_t as_int() const;
    bool as_bool() const;
    const std::string& as_string() const;
    const std::vector<XmlRpcValue>& as_array() const;
    const XmlRpcValue& operator[](const std::string& member) const;
    bool has(const std::string& member) const {
        return kind == Kind::structure && members.contains(member);
    }
    std::string describe() const; // for messages
};

// The transport failed, the reply did not parse, or a value had the wrong type.
class XmlRpcError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The server answered with a <fault>.
class XmlRpcFault : public XmlRpcError {
  public:
    XmlRpcFault(int code, const std::string& text)
        : XmlRpcError("fault " + std::to_string(code) + ": " + text), code(code), text(text) {}
    int code;
    std::string text;
};

// The request body for one call, and the value of a reply body (throws
// XmlRpcFault for a fault, XmlRpcError for anything unreadable).
std::string xmlrpc_request(const std::string& method, const std::vector<XmlRpcValue>& params);
XmlRpcValue xmlrpc_response(const std::string& body);

class XmlRpcClient {
  public:
    explicit XmlRpcClient(std::filesystem::path socket) : socket_(std::move(socket)) {}
    XmlRpcValue call(const std::string& method, const std::vector<XmlRpcValue>& params,
                     std::chrono::steady_clock::time_point deadline) const;

  private:
    std::filesystem::path socket_;
};

} // namespace crashloop
