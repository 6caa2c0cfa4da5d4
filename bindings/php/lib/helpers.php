<?php

declare(strict_types=1);

/*
 * The global helpers the seed documents: websocket(), socket() and env().
 *
 * Global functions, callable from any namespace. Each is defined only when
 * no function of that name exists yet. build/bin/php-nexus loads this file
 * before the application (auto_prepend_file), so there these come first; an
 * application that defines its own must guard it with function_exists() (as
 * Laravel's helpers do; its env() and ours read the same variables alike).
 * There is deliberately no global config(): Laravel's has another signature.
 * Use Nexus\Socket\Config::get('socket.websocket.port').
 */

use Nexus\Socket\Env;
use Nexus\Socket\Socket;
use Nexus\Socket\WebSocket;

if (!function_exists('websocket')) {
    /**
     * A WebSocket server, as `new WebSocket($host, $port, $options)`: host and
     * port default to the configuration (WEBSOCKET_HOST, WEBSOCKET_PORT).
     *
     * @param array<string, mixed> $options see WebSocket::__construct()
     */
    function websocket(?string $host = null, ?int $port = null, array $options = []): WebSocket
    {
        return new WebSocket($host, $port, $options);
    }
}

if (!function_exists('socket')) {
    /**
     * A client socket of the type named by text: 'tcp', 'udp', 'ssl' or 'tls'
     * (as Socket::tcp(), ...; TLS ones start from the SOCKET_SSL_* settings).
     *
     * @param array<string, mixed> $options Socket::setOption() names => values
     */
    function socket(string $type = 'tcp', array $options = []): Socket
    {
        return Socket::create($type, $options);
    }
}

if (!function_exists('env')) {
    /**
     * The value of an environment variable: the process environment first,
     * then the .env file of the application's base path. 'true', 'false',
     * 'null' and 'empty' (also in parentheses, any case) become true, false,
     * null and ''; a value wrapped in quotes loses them. Unset: $default (a
     * Closure default is called).
     */
    function env(string $key, mixed $default = null): mixed
    {
        return Env::get($key, $default);
    }
}
