<?php

/*
 * The seed's HTTP client over a TCP socket (HTTP/1.1, Connection: close,
 * the whole response read with readAll()); https:// URLs go over
 * Socket::ssl() (the seed's "Secure Socket Client"), verified against the
 * system's CAs, or the file SOCKET_TLS_CAFILE names.
 *
 *     build/bin/php-nexus examples/php/socket_http_client.php [URL]
 *
 * Prints the raw response (status line, headers, body); exit status 1 with
 * the error on standard error when the request fails.
 */

use Nexus\Socket\Socket;

class SimpleHttpClient
{
    protected Socket $socket;

    public function get(string $url): string
    {
        $parts = parse_url($url);
        $host = $parts['host'];
        $secure = ($parts['scheme'] ?? 'http') === 'https';
        $port = $parts['port'] ?? ($secure ? 443 : 80);
        $path = $parts['path'] ?? '/';
        if (isset($parts['query'])) {
            $path .= '?' . $parts['query'];
        }

        $cafile = env('SOCKET_TLS_CAFILE');
        $this->socket = $secure ? Socket::ssl($cafile ? ['cafile' => $cafile] : []) : Socket::tcp();
        $this->socket->connect($host, $port);

        $request = "GET {$path} HTTP/1.1\r\n";
        $request .= "Host: {$host}\r\n";
        $request .= "Connection: close\r\n\r\n";

        $this->socket->send($request);
        $response = $this->socket->readAll();
        $this->socket->close();

        return $response;
    }
}

// Usage
$client = new SimpleHttpClient();
try {
    $response = $client->get($argv[1] ?? 'http://example.com');
} catch (Nexus\Socket\SocketException $e) {
    fwrite(STDERR, "error: {$e->getMessage()}\n");
    exit(1);
}
echo $response;
