// Close status codes (RFC 6455 §7.4) and the rules for which may travel.
#pragma once

#include <cstdint>

namespace nexus::core::close_code {

inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005; // never on the wire (§7.4.1)
inline constexpr std::uint16_t abnormal = 1006;  // never on the wire (§7.4.1)
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t mandatory_extension = 1010;
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t service_restart = 1012; // IANA registry
inline constexpr std::uint16_t try_again_later = 1013; // IANA registry
inline constexpr std::uint16_t bad_gateway = 1014;     // IANA registry
inline constexpr std::uint16_t tls_handshake = 1015;   // never on the wire (§7.4.1)

/// May `code` appear in a close frame? 1000-1003 and 1007-1014 (the codes
/// defined by §7.4.1 and registered with IANA), and 3000-4999 (§7.4.2:
/// libraries, frameworks and applications). 0-999, 1004-1006, 1015-2999 and
/// 5000+ may not.
constexpr bool is_valid_on_wire(std::uint16_t code) noexcept {
    if (code >= 1000 && code <= 1014) {
        return code != 1004 && code != no_status && code != abnormal;
    }
    return code >= 3000 && code <= 4999;
}

} // namespace nexus::core::close_code
