// Which end of a WebSocket connection an endpoint is (RFC 6455 §1.3, §5.1).
#pragma once

#include <cstdint>

namespace nexus::core {

/// A client masks every frame it sends; a server masks none and requires
/// masks on everything it receives.
enum class Role : std::uint8_t { client, server };

} // namespace nexus::core
