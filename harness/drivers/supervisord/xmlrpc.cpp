#include "xmlrpc.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <optional>
#include <sstream>

#include "errors.hpp"
#include "interrupt.hpp"

namespace crashloop {

namespace http = boost::beast::http;
namespace pt = boost::property_tree;
using stream_protocol = boost::asio::local::stream_protocol;

// --- values ------------------------------------------------------------------

namespace {

const char* kind_name(XmlRpcValue::Kind kind) {
    switch (kind) {
    case XmlRpcValue::Kind::nil:
        return "nil";
    case XmlRpcValue::Kind::boolean:
        return "boolean";
    case XmlRpcValue::Kind::integer:
        return "int";
    case XmlRpcValue::Kind::real:
        return "double";
    case XmlRpcValue::Kind::string:
        return "string";
    case XmlRpcValue::Kind::array:
        return "array";
    case XmlRpcValue::Kind::structure:
        return "struct";
    }
    return "?";
}

[[noreturn]] void wrong_type(const XmlRpcValue& value, const char* wanted) {
    throw XmlRpcError(std::string("expected an XML-RPC ") + wanted + ", got " + value.describe());
}

} // namespace

int64_t XmlRpcValue::as_int() const {
    if (kind != Kind::integer) wrong_type(*this, "int");
    return integer;
}

bool XmlRpcValue::as_bool() const {
    if (kind != Kind::boolean) wrong_type(*this, "boolean");
    return boolean;
}

const std::string& XmlRpcValue::as_string() const {
    if (kind != Kind::string) wrong_type(*this, "string");
    return string;
}

const std::vector<XmlRpcValue>& XmlRpcValue::as_array() const {
    if (kind != Kind::array) wrong_type(*this, "array");
    return array;
}

const XmlRpcValue& XmlRpcValue::operator[](const std::string& member) const {
    if (kind != Kind::structure) wrong_type(*this, "struct");
    auto it = members.find(member);
    if (it == members.end()) throw XmlRpcError("expected member '" + member + "' in " + describe());
    return it->second;
}

std::string XmlRpcValue::describe() const {
    switch (kind) {
    case Kind::boolean:
        return boolean ? "true" : "false";
    case Kind::integer:
        return std::to_string(integer);
    case Kind::real:
        return std::to_string(real);
    case Kind::string:
        return "'" + string + "'";
    case Kind::array: {
        std::string out = "[";
        for (size_t i = 0; i < array.size(); ++i)
            out += (i ? ", " : "") + array[i].describe();
        return out + "]";
    }
    case Kind::structure: {
        std::string out = "{";
        for (const auto& [key, value] : members)
            out += (out.size() > 1 ? ", " : "") + key + ": " + value.describe();
        return out + "}";
    }
    case Kind::nil:
        break;
    }
    return kind_name(kind);
}

// --- encoding ----------------------------------------------------------------

namespace {

std::string escaped(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '&':
            out += "&amp;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

void encode(const XmlRpcValue& value, std::string& out) {
    out += "<value>";
    switch (value.kind) {
    case XmlRpcValue::Kind::nil:
        out += "<nil/>";
        break;
    case XmlRpcValue::Kind::boolean:
        out += value.boolean ? "<boolean>1</boolean>" : "<boolean>0</boolean>";
        break;
    case XmlRpcValue::Kind::integer:
        out += "<int>" + std::to_string(value.integer) + "</int>";
        break;
    case XmlRpcValue::Kind::real: {
        std::ostringstream text;
        text.precision(17);
        text << value.real;
        out += "<double>" + text.str() + "</double>";
        break;
    }
    case XmlRpcValue::Kind::string:
        out += "<string>" + escaped(value.string) + "</string>";
        break;
    case XmlRpcValue::Kind::array:
        out += "<array><data>";
        for (const auto& item : value.array)
            encode(item, out);
        out += "</data></array>";
        break;
    case XmlRpcValue::Kind::structure:
        out += "<struct>";
        for (const auto& [key, member] : value.members) {
            out += "<member><name>" + escaped(key) + "</name>";
            encode(member, out);
            out += "</member>";
        }
        out += "</struct>";
        break;
    }
    out += "</value>";
}

bool is_markup(const std::string& key) {
    return key == "<xmlattr>" || key == "<xmlcomment>";
}

XmlRpcValue decode(const pt::ptree& value) {
    const pt::ptree* typed = nullptr;
    std::string type;
    for (const auto& [key, child] : value) {
        if (is_markup(key)) continue;
        if (typed != nullptr)
            throw XmlRpcError("expected one type inside <value>, got <" + type + "> and <" + key +
                              ">");
        typed = &child;
        type = key;
    }
    if (typed == nullptr) return XmlRpcValue(value.data()); // <value>text</value> is a string
    const std::string& text = typed->data();
    try {
        if (type == "string") return XmlRpcValue(text);
        if (type == "int" || type == "i4" || type == "i8")
            return XmlRpcValue(static_cast<int64_t>(std::stoll(text)));
        if (type == "boolean") return XmlRpcValue(std::stoi(text) != 0);
        if (type == "double") {
            XmlRpcValue real;
            real.kind = XmlRpcValue::Kind::real;
            real.real = std::stod(text);
            return real;
        }
        if (type == "nil") return {};
        if (type == "dateTime.iso8601" || type == "base64") return XmlRpcValue(text);
    } catch (const std::logic_error&) { // stoll & co.
        throw XmlRpcError("expected a number in <" + type + ">, got '" + text + "'");
    }
    if (type == "array") {
        std::vector<XmlRpcValue> items;
        const pt::ptree empty;
        for (const auto& [key, child] : typed->get_child("data", empty))
            if (key == "value") items.push_back(decode(child));
        return XmlRpcValue(std::move(items));
    }
    if (type == "struct") {
        std::map<std::string, XmlRpcValue> members;
        for (const auto& [key, member] : *typed) {
            if (key != "member") continue;
            const pt::ptree empty;
            members[member.get<std::string>("name", "")] = decode(member.get_child("value", empty));
        }
        return XmlRpcValue(std::move(members));
    }
    throw XmlRpcError("unknown XML-RPC type <" + type + ">");
}

} // namespace

std::string xmlrpc_request(const std::string& method, const std::vector<XmlRpcValue>& params) {
    std::string out = "<?xml version=\"1.0\"?>\n<methodCall><methodName>" + escaped(method) +
                      "</methodName><params>";
    for (const auto& param : params) {
        out += "<param>";
        encode(param, out);
        out += "</param>";
    }
    return out + "</params></methodCall>\n";
}

XmlRpcValue xmlrpc_response(const std::string& body) {
    pt::ptree doc;
    try {
        std::istringstream in(body);
        pt::read_xml(in, doc);
    } catch (const pt::xml_parser_error& e) {
        throw XmlRpcError(std::string("unreadable XML-RPC reply: ") + e.what() + ": " +
                          body.substr(0, 200));
    }
    const auto found = doc.get_child_optional("methodResponse");
    if (!found)
        throw XmlRpcError("expected <methodResponse> in the XML-RPC reply, got: " +
                          body.substr(0, 200));
    const pt::ptree& response = *found;
    if (auto fault = response.get_child_optional("fault")) {
        const pt::ptree empty;
        const XmlRpcValue value = decode(fault->get_child("value", empty));
        int code = 0;
        std::string text;
        if (value.has("faultCode") && value["faultCode"].kind == XmlRpcValue::Kind::integer)
            code = static_cast<int>(value["faultCode"].integer);
        if (value.has("faultString") && value["faultString"].kind == XmlRpcValue::Kind::string)
            text = value["faultString"].string;
        throw XmlRpcFault(code, text);
    }
    auto value = response.get_child_optional("params.param.value");
    if (!value)
        throw XmlRpcError("expected <params><param><value> in the XML-RPC reply, got: " +
                          body.substr(0, 200));
    return decode(*value);
}

// --- transport ---------------------------------------------------------------

XmlRpcValue XmlRpcClient::call(const std::string& method, const std::vector<XmlRpcValue>& params,
                               std::chrono::steady_clock::time_point deadline) const {
    boost::asio::io_context io;
    stream_protocol::socket socket(io);
    http::request<http::string_body> request{http::verb::post, "/RPC2", 10};
    request.set(http::field::host, "localhost");
    request.set(http::field::content_type, "text/xml");
    request.body() = xmlrpc_request(method, params);
    request.prepare_payload();
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    std::optional<boost::system::error_code> outcome;
    std::string step = "connecting to";

    // connect → write → read, each step's error ending the chain (and the wait).
    auto end = [&](boost::system::error_code ec) {
        outcome = ec;
        io.stop();
    };
    socket.async_connect(
        stream_protocol::endpoint(socket_.string()), [&](boost::system::error_code ec) {
            if (ec) return end(ec);
            step = "writing to";
            http::async_write(socket, request, [&](boost::system::error_code ec, size_t) {
                if (ec) return end(ec);
                step = "reading from";
                http::async_read(socket, buffer, response,
                                 [&](boost::system::error_code ec, size_t) { end(ec); });
            });
        });
    // Ctrl-C ends the wait too: a call may take seconds on a loaded supervisord. The fd is
    // the process's: released, never closed, however this call ends.
    struct Watch {
        std::optional<boost::asio::posix::stream_descriptor> descriptor;
        ~Watch() {
            if (descriptor) descriptor->release();
        }
    } interrupt_watch;
    bool interrupted = false;
    if (interrupt::fd() >= 0) {
        interrupt_watch.descriptor.emplace(io, interrupt::fd());
        interrupt_watch.descriptor->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                                               [&](boost::system::error_code ec) {
                                                   if (!ec && !outcome) interrupted = true, io.stop();
                                               });
    }
    io.run_until(deadline);
    if (interrupted) throw Interrupted();
    const std::string where = " " + socket_.string() + " (" + method + ")";
    if (!outcome) throw XmlRpcError("no answer in time " + step + where);
    if (*outcome) throw XmlRpcError(step + where + ": " + outcome->message());
    if (response.result() != http::status::ok)
        throw XmlRpcError("HTTP " + std::to_string(response.result_int()) + " from" + where + ": " +
                          response.body().substr(0, 200));
    return xmlrpc_response(response.body());
}

} // namespace crashloop
