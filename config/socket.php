<?php

/*
 * Socket configuration (the seed's config/socket.php), read by
 * Nexus\Socket\Config: Config::get('socket.websocket.port').
 *
 * Every value comes from an environment variable (the process environment,
 * else .env) with the default of docs/configuration.md. Arguments given in
 * code (new WebSocket($host, $port, $options)) win over these.
 *
 * Seconds may be fractional; lists are comma-separated (or arrays here).
 */

return [
    'default' => env('SOCKET_TYPE', 'tcp'),
    'timeout' => env('SOCKET_TIMEOUT', 30),

    'websocket' => [
        'host' => env('WEBSOCKET_HOST', '0.0.0.0'),
        'port' => env('WEBSOCKET_PORT', 8080),
        'max_clients' => env('WEBSOCKET_MAX_CLIENTS', 100),

        // Beyond the seed: the rest of docs/configuration.md.
        'threads' => env('WEBSOCKET_THREADS', 1),
        'ping_interval' => env('WEBSOCKET_PING_INTERVAL', 30),
        // The seed's general SOCKET_TIMEOUT bounds the pong wait unless WEBSOCKET_PONG_TIMEOUT says otherwise.
        'pong_timeout' => env('WEBSOCKET_PONG_TIMEOUT', env('SOCKET_TIMEOUT', 30)),
        'handshake_timeout' => env('WEBSOCKET_HANDSHAKE_TIMEOUT', 10),
        'idle_timeout' => env('WEBSOCKET_IDLE_TIMEOUT', 0),
        'max_header_bytes' => env('WEBSOCKET_MAX_HEADER_BYTES', 16384),
        'max_frame_size' => env('WEBSOCKET_MAX_FRAME_SIZE', 1048576),
        'max_message_size' => env('WEBSOCKET_MAX_MESSAGE_SIZE', 1048576),
        'max_send_queue' => env('WEBSOCKET_MAX_SEND_QUEUE', 4194304),
        'rate_limit' => env('WEBSOCKET_RATE_LIMIT', 0),
        'stop_timeout' => env('WEBSOCKET_STOP_TIMEOUT', 5),
        'allowed_origins' => env('WEBSOCKET_ALLOWED_ORIGINS', ''),
        'subprotocols' => env('WEBSOCKET_SUBPROTOCOLS', ''),
        'compression' => env('WEBSOCKET_COMPRESSION', false),
        // zlib level of permessage-deflate: 1 fastest ... 9 smallest, -1 zlib's default (6).
        'deflate_level' => env('WEBSOCKET_COMPRESSION_LEVEL', -1),
        'static_dir' => env('WEBSOCKET_STATIC_DIR'),
        'log_level' => env('WEBSOCKET_LOG_LEVEL', 'warning'),
        // wss://: a certificate (PEM, its chain after it) turns TLS on; the key may be
        // in the same file. For more (SNI_server_certs, ciphers, client certificates)
        // give 'ssl' => [PHP ssl context options] here or in the WebSocket's options.
        'tls_cert' => env('WEBSOCKET_TLS_CERT'),
        'tls_key' => env('WEBSOCKET_TLS_KEY'),
        'tls_passphrase' => env('WEBSOCKET_TLS_PASSPHRASE'),
        // Several servers as one (docs/scaling.md): with 'redis' every server on the same
        // Redis and prefix shares broadcasts, channels, send/disconnect by id and presence.
        'scaling' => env('WEBSOCKET_SCALING', 'none'),
        'redis_url' => env('REDIS_URL', 'redis://127.0.0.1:6379/0'),
        'scaling_prefix' => env('WEBSOCKET_SCALING_PREFIX', 'nexus'),
        'scaling_lease' => env('WEBSOCKET_SCALING_LEASE', 10),
        'scaling_timeout' => env('WEBSOCKET_SCALING_TIMEOUT', 2),
        'scaling_backlog' => env('WEBSOCKET_SCALING_BACKLOG', 16777216),
    ],

    'ssl' => [
        'verify_peer' => env('SOCKET_SSL_VERIFY_PEER', true),
        'verify_peer_name' => env('SOCKET_SSL_VERIFY_PEER_NAME', true),
        'allow_self_signed' => env('SOCKET_SSL_ALLOW_SELF_SIGNED', false),
    ],
];
