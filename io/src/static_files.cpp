#include "static_files.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

namespace nexus::io::detail {
namespace {

void simple_response(int status, std::string_view reason, std::string_view body,
                     core::ByteBuffer& out) {
    out.append(fmt::format("HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                           "Content-Length: {}\r\nConnection: close\r\n\r\n",
                           status, reason, body.size()));
    out.append(body);
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/// Percent-decodes a request path; false on a malformed escape or NUL.
bool decode_path(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) {
                return false;
            }
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0' || c == '\\') {
            return false;
        }
        out += c;
    }
    return true;
}

} // namespace

std::string_view content_type_for(std::string_view name) noexcept {
    const auto dot = name.rfind('.');
    const std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
    if (ext == "html" || ext == "htm") {
        return "text/html; charset=utf-8";
    }
    if (ext == "js" || ext == "mjs") {
        return "text/javascript; charset=utf-8";
    }
    if (ext == "css") {
        return "text/css; charset=utf-8";
    }
    if (ext == "json") {
        return "application/json";
    }
    if (ext == "svg") {
        return "image/svg+xml";
    }
    if (ext == "png") {
        return "image/png";
    }
    if (ext == "ico") {
        return "image/x-icon";
    }
    if (ext == "txt") {
        return "text/plain; charset=utf-8";
    }
    return "application/octet-stream";
}

void build_static_response(const std::string& root, std::string_view path, core::ByteBuffer& out) {
    namespace fs = std::filesystem;
    std::string decoded;
    if (root.empty() || path.empty() || path[0] != '/' || !decode_path(path, decoded)) {
        simple_response(404, "Not Found", "not found\n", out);
        return;
    }
    if (decoded.back() == '/') {
        decoded += "index.html";
    }
    std::error_code ec;
    const fs::path base = fs::canonical(root, ec);
    if (ec) {
        simple_response(404, "Not Found", "not found\n", out);
        return;
    }
    const fs::path file = fs::weakly_canonical(base / fs::path(decoded).relative_path(), ec);
    // The resolved file must still lie inside the root (no "..", no symlink out).
    const auto [root_end, file_it] =
        std::mismatch(base.begin(), base.end(), file.begin(), file.end());
    if (ec || root_end != base.end() || !fs::is_regular_file(file, ec)) {
        simple_response(404, "Not Found", "not found\n", out);
        return;
    }
    const auto size = fs::file_size(file, ec);
    if (ec) {
        simple_response(404, "Not Found", "not found\n", out);
        return;
    }
    if (size > k_max_static_file) {
        simple_response(413, "Content Too Large", "file too large\n", out);
        return;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        simple_response(404, "Not Found", "not found\n", out);
        return;
    }
    out.append(fmt::format("HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                           "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
                           content_type_for(file.filename().string()), size));
    auto* dest = out.extend(static_cast<std::size_t>(size));
    in.read(reinterpret_cast<char*>(dest), static_cast<std::streamsize>(size));
    if (static_cast<std::uintmax_t>(in.gcount()) != size) {
        out.clear();
        simple_response(500, "Internal Server Error", "read error\n", out);
    }
}

} // namespace nexus::io::detail
