// TLS options for StreamSocket (client, STARTTLS) and SocketServer, named
// exactly like PHP's `ssl` stream-context options (php.net/context.ssl) and
// with PHP's meaning, so the C API and the PHP layer pass them through.
//
// TLS runs on OpenSSL 3 through Poco NetSSL; TLS 1.2 is the minimum.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace nexus::io {

enum class TlsRole { client, server };

enum class TlsVersion { tls1_2, tls1_3 };

/// A certificate with its key, for a server (or a client certificate).
struct CertificateFiles {
    std::string local_cert; // PEM: the certificate, then its chain; may hold the key too
    std::string local_pk;   // PEM key; empty: the key is in local_cert
    std::string passphrase; // for an encrypted key; never prompted for on a terminal
};

struct TlsOptions {
    // Verify the peer's certificate chain. Unset: true for a client, false for
    // a server (true on a server requires a client certificate), as in PHP.
    std::optional<bool> verify_peer;
    // Check that the certificate names the host (RFC 6125: DNS or IP
    // subjectAltName, CN without SANs), even when verify_peer is false, as
    // in PHP. Unset: true for a client. Servers ignore it.
    std::optional<bool> verify_peer_name;
    bool allow_self_signed = false; // accept a self-signed leaf certificate
    std::string cafile;             // PEM file of trusted CAs
    std::string capath;             // directory of hashed CA certificates (c_rehash)
    // With neither cafile nor capath: the system store (/etc/ssl/certs).
    std::string peer_name;   // name to check (and send as SNI) instead of the host
    bool SNI_enabled = true; // send the server name (RFC 6066 §3; never an IP literal)
    std::string local_cert;  // our certificate (required for a server)
    std::string local_pk;    // our key; empty: it is in local_cert
    std::string passphrase;  // of local_pk
    std::string ciphers;     // OpenSSL cipher list for TLS <= 1.2; empty: OpenSSL's default
    // Server: certificates chosen by the SNI name the client sends (exact,
    // case-insensitive; "*.example.com" matches one label); local_cert
    // otherwise. PHP's SNI_server_certs.
    std::map<std::string, CertificateFiles> SNI_server_certs;
    TlsVersion min_version = TlsVersion::tls1_2;
    TlsVersion max_version = TlsVersion::tls1_3;

    /// Sets an option from text, as PHP's setOption() and the C API pass
    /// them: booleans take 1/0, true/false, yes/no, on/off. Returns false for
    /// a name this struct does not have (or SNI_server_certs); throws
    /// SocketError(invalid_argument) for a bad boolean.
    bool set(std::string_view name, std::string_view value);
};

} // namespace nexus::io
