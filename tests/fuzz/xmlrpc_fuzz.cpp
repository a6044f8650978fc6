// supervisord's XML-RPC answers, decoded from any body: a value, a fault, or an XmlRpcError
// saying what was expected; anything else is a crash.
#include "scratch_file.hpp"
#include "xmlrpc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        crashloop::xmlrpc_response(std::string(crashloop::fuzz::as_text(data, size)));
    } catch (const crashloop::XmlRpcError&) {
    }
    return 0;
}
