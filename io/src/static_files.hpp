// Plain HTTP GET of files in one directory (the chat page), on the same port
// as the WebSocket server.
#pragma once

#include <string>
#include <string_view>

#include "nexus/core/byte_buffer.hpp"

namespace nexus::io::detail {

/// Largest file served; bigger ones get 404 like a missing one would not:
/// 413 says why. Keeps one request from pinning unbounded memory.
inline constexpr std::size_t k_max_static_file = 16 * 1024 * 1024;

/// Appends a complete HTTP/1.1 response for GET `path` (already without the
/// query) to `out`: 200 with the file and its Content-Type, "/" meaning
/// "/index.html"; 404 when `root` is empty, the file is missing, or the path
/// tries to leave `root` (".." segments, NUL, backslashes, a symlink out);
/// 413 when the file is too large. Always `Connection: close`.
void build_static_response(const std::string& root, std::string_view path, core::ByteBuffer& out);

/// Content-Type for a file name, by its extension.
std::string_view content_type_for(std::string_view file_name) noexcept;

} // namespace nexus::io::detail
