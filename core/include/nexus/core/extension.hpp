// Sec-WebSocket-Extensions header values (RFC 6455 §9.1).
//
//   extension-list  = 1#extension
//   extension       = extension-token *( ";" extension-param )
//   extension-param = token [ "=" (token | quoted-string) ]
//
// Names are compared case-insensitively by the users of these types; values
// keep their case. A quoted-string value is stored unquoted and unescaped.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nexus/core/error.hpp"

namespace nexus::core {

struct ExtensionParam {
    std::string name;
    std::optional<std::string> value; // nullopt: the parameter had no "=value"
};

struct Extension {
    std::string name;
    std::vector<ExtensionParam> params;
};

/// Appends every extension in `header_value` (one header line's value) to
/// `out`, in order. Returns Error::ok, or Error::bad_extension_header when the
/// value does not follow the grammar above (out is then left unspecified).
/// Empty list elements (",,") are skipped, as RFC 7230 §7 allows.
Error parse_extension_list(std::string_view header_value, std::vector<Extension>& out);

/// Formats one extension as a header value element ("name; a; b=15").
std::string format_extension(const Extension& extension);

} // namespace nexus::core
