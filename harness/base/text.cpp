#include "text.hpp"

#include <fmt/format.h>

namespace crashloop {

char32_t next_codepoint(std::string_view text, std::size_t& i) {
    constexpr char32_t replacement = 0xfffd;
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    char32_t cp = 0;
    char32_t minimum = 0;
    if (lead < 0x80) {
        i += 1;
        return lead;
    }
    if (lead >= 0xc2 && lead < 0xe0) {
        length = 2;
        cp = lead & 0x1fU;
        minimum = 0x80;
    } else if (lead >= 0xe0 && lead < 0xf0) {
        length = 3;
        cp = lead & 0x0fU;
        minimum = 0x800;
    } else if (lead >= 0xf0 && lead < 0xf5) {
        length = 4;
        cp = lead & 0x07U;
        minimum = 0x10000;
    } else {
        i += 1;
        return replacement;
    }
    if (i + length > text.size()) {
        i += 1;
        return replacement;
    }
    for (std::size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(text[i + k]);
        if ((next & 0xc0U) != 0x80U) {
            i += 1;
            return replacement;
        }
        cp = (cp << 6U) | (next & 0x3fU);
    }
    if (cp < minimum || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        i += 1;
        return replacement;
    }
    i += length;
    return cp;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0U | (cp >> 6U));
        out += static_cast<char>(0x80U | (cp & 0x3fU));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0U | (cp >> 12U));
        out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3fU));
        out += static_cast<char>(0x80U | (cp & 0x3fU));
    } else {
        out += static_cast<char>(0xf0U | (cp >> 18U));
        out += static_cast<char>(0x80U | ((cp >> 12U) & 0x3fU));
        out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3fU));
        out += static_cast<char>(0x80U | (cp & 0x3fU));
    }
}

std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t start = i;
        const char32_t cp = next_codepoint(text, i);
        const bool malformed = cp == 0xfffd && i == start + 1;
        const bool control = (cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7f && cp < 0xa0);
        if (malformed || control) {
            for (std::size_t k = start; k < i; ++k)
                out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[k]));
        } else {
            out.append(text.substr(start, i - start));
        }
    }
    return out;
}

} // namespace crashloop
