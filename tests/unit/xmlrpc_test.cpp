// The XML-RPC codec the supervisord driver speaks (xmlrpc.cpp): a value
// written into a request reads back the same from a reply; a <fault> is an
// XmlRpcFault with its code and text; anything unreadable is an XmlRpcError
// saying what was expected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "xmlrpc.hpp"

using namespace crashloop;
using ::testing::HasSubstr;

namespace {

// The reply a server would send carrying what xmlrpc_request() wrote as its one param.
std::string reply_carrying(const XmlRpcValue& value) {
    const std::string request = xmlrpc_request("echo", {value});
    const size_t begin = request.find("<params>");
    const size_t end = request.find("</params>") + std::string("</params>").size();
    return "<?xml version=\"1.0\"?>\n<methodResponse>" + request.substr(begin, end - begin) +
           "</methodResponse>\n";
}

XmlRpcValue round_trip(const XmlRpcValue& value) {
    return xmlrpc_response(reply_carrying(value));
}

std::string reply_with_value(const std::string& inner) {
    return "<?xml version=\"1.0\"?><methodResponse><params><param><value>" + inner +
           "</value></param></params></methodResponse>";
}

TEST(XmlRpc, request_names_the_method_and_each_param_in_order) {
    const std::string request = xmlrpc_request("supervisor.startProcess", {"web", true});
    EXPECT_THAT(request, HasSubstr("<methodName>supervisor.startProcess</methodName>"));
    EXPECT_THAT(request, HasSubstr("<param><value><string>web</string></value></param>"
                                   "<param><value><boolean>1</boolean></value></param>"));
}

TEST(XmlRpc, scalars_round_trip) {
    EXPECT_EQ(round_trip(int64_t{-9000000000}).as_int(), -9000000000);
    EXPECT_EQ(round_trip(0).as_int(), 0);
    EXPECT_TRUE(round_trip(true).as_bool());
    EXPECT_FALSE(round_trip(false).as_bool());
    EXPECT_EQ(round_trip("RUNNING").as_string(), "RUNNING");
    EXPECT_EQ(round_trip("").as_string(), "");
    EXPECT_EQ(round_trip(XmlRpcValue()).kind, XmlRpcValue::Kind::nil);
    XmlRpcValue real;
    real.kind = XmlRpcValue::Kind::real;
    real.real = 0.1;
    EXPECT_DOUBLE_EQ(round_trip(real).real, 0.1);
}

TEST(XmlRpc, markup_characters_in_strings_round_trip) {
    const std::string text = "exit <1> & \"done\" 'now' — ünïcode";
    EXPECT_EQ(round_trip(text).as_string(), text);
    EXPECT_EQ(
        round_trip(XmlRpcValue(std::map<std::string, XmlRpcValue>{{"a<b&c", 1}}))["a<b&c"].as_int(),
        1);
}

TEST(XmlRpc, nested_structs_and_arrays_round_trip) {
    const XmlRpcValue info(std::map<std::string, XmlRpcValue>{
        {"name", "crashloop-on-failure-sigabrt"},
        {"pid", 4242},
        {"statename", "RUNNING"},
        {"groups", std::vector<XmlRpcValue>{"a", std::vector<XmlRpcValue>{1, 2}, XmlRpcValue()}},
        {"empty", std::vector<XmlRpcValue>{}},
        {"inner",
         std::map<std::string, XmlRpcValue>{
             {"deep", std::map<std::string, XmlRpcValue>{{"x", false}}}}},
    });

    const XmlRpcValue back = round_trip(std::vector<XmlRpcValue>{info, info});

    ASSERT_EQ(back.as_array().size(), 2u);
    const XmlRpcValue& first = back.as_array()[0];
    EXPECT_EQ(first["name"].as_string(), "crashloop-on-failure-sigabrt");
    EXPECT_EQ(first["pid"].as_int(), 4242);
    ASSERT_EQ(first["groups"].as_array().size(), 3u);
    EXPECT_EQ(first["groups"].as_array()[1].as_array()[1].as_int(), 2);
    EXPECT_EQ(first["groups"].as_array()[2].kind, XmlRpcValue::Kind::nil);
    EXPECT_TRUE(first["empty"].as_array().empty());
    EXPECT_FALSE(first["inner"]["deep"]["x"].as_bool());
    EXPECT_EQ(back.describe(), round_trip(back).describe());
}

TEST(XmlRpc, untyped_value_and_i4_read_as_python_writes_them) {
    EXPECT_EQ(xmlrpc_response(reply_with_value("plain text")).as_string(), "plain text");
    EXPECT_EQ(xmlrpc_response(reply_with_value("<i4>70</i4>")).as_int(), 70);
}

TEST(XmlRpc, fault_is_thrown_with_its_code_and_text) {
    const std::string body =
        "<?xml version='1.0'?><methodResponse><fault><value><struct>"
        "<member><name>faultCode</name><value><int>70</int></value></member>"
        "<member><name>faultString</name><value><string>NOT_RUNNING: web</string></value></member>"
        "</struct></value></fault></methodResponse>";
    try {
        xmlrpc_response(body);
        FAIL() << "a fault must throw";
    } catch (const XmlRpcFault& fault) {
        EXPECT_EQ(fault.code, 70);
        EXPECT_EQ(fault.text, "NOT_RUNNING: web");
        EXPECT_STREQ(fault.what(), "fault 70: NOT_RUNNING: web");
    }
}

void expect_error(const std::string& body, const std::string& says) {
    try {
        xmlrpc_response(body);
        ADD_FAILURE() << "accepted: " << body;
    } catch (const XmlRpcFault& fault) {
        ADD_FAILURE() << "a fault for a bad reply: " << fault.what();
    } catch (const XmlRpcError& e) {
        EXPECT_THAT(e.what(), HasSubstr(says)) << body;
    }
}

TEST(XmlRpc, bad_replies_are_errors_that_say_what_was_expected) {
    expect_error("not xml at all <", "unreadable XML-RPC reply");
    expect_error("<?xml version=\"1.0\"?><methodCall/>", "expected <methodResponse>");
    expect_error("<methodResponse><params/></methodResponse>", "expected <params><param><value>");
    expect_error(reply_with_value("<int>twelve</int>"), "expected a number in <int>, got 'twelve'");
    expect_error(reply_with_value("<base32>x</base32>"), "unknown XML-RPC type <base32>");
    expect_error(reply_with_value("<int>1</int><string>1</string>"),
                 "expected one type inside <value>");
}

TEST(XmlRpc, reading_the_wrong_type_names_what_was_there) {
    const XmlRpcValue info(std::map<std::string, XmlRpcValue>{{"pid", 7}});
    EXPECT_THROW(info["pid"].as_string(), XmlRpcError);
    try {
        info["statename"];
        FAIL() << "a missing member must throw";
    } catch (const XmlRpcError& e) {
        EXPECT_THAT(e.what(), HasSubstr("expected member 'statename' in {pid: 7}"));
    }
    try {
        XmlRpcValue("x").as_int();
        FAIL() << "a string is no int";
    } catch (const XmlRpcError& e) {
        EXPECT_THAT(e.what(), HasSubstr("expected an XML-RPC int, got 'x'"));
    }
}

} // namespace
