<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * What the library needs to know about the extension: whether it is loaded,
 * and the C API's status, event and opcode numbers.
 *
 * The numbers are repeated here (they are pinned forever by the C header,
 * nexus/socket.h) so that code which only compares them keeps working, and
 * reads plainly, without the extension's global constants.
 *
 * @internal
 */
final class Native
{
    public const OK = 0;
    public const EINVAL = -1;
    public const ESTATE = -3;
    public const ENOCLIENT = -4;
    public const EUTF8 = -5;
    public const ECLOSING = -6;
    public const EQUEUEFULL = -7;
    public const ECLOSED = -16;
    /** Scaling: the client is on another server and Redis cannot be reached now. */
    public const EUNAVAILABLE = -22;

    public const EVENT_NONE = 0;
    public const EVENT_CONNECT = 1;
    public const EVENT_MESSAGE = 2;
    public const EVENT_DISCONNECT = 3;
    public const EVENT_ERROR = 4;
    public const EVENT_HANDSHAKE = 5;
    public const EVENT_STOPPED = 6;
    public const EVENT_PING = 7;
    public const EVENT_PONG = 8;

    public const OPCODE_TEXT = 1;
    public const OPCODE_BINARY = 2;

    public const LOG_LEVELS = ['trace' => 0, 'debug' => 1, 'info' => 2, 'warning' => 3, 'error' => 4, 'off' => 5];

    private function __construct()
    {
    }

    public static function loaded(): bool
    {
        return class_exists(\NxWsServer::class, false);
    }

    /**
     * @throws SocketException when the extension is not loaded, saying how to get it
     */
    public static function require(): void
    {
        if (!self::loaded()) {
            throw new SocketException(self::missingMessage());
        }
    }

    public static function missingMessage(): string
    {
        return 'the nexus_socket PHP extension is not loaded: build it with `make build`, then run PHP '
            . 'through build/bin/php-nexus (or php -d extension=/path/to/build/lib/nexus_socket.so)';
    }
}
