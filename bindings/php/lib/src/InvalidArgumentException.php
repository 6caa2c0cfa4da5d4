<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * A bad argument or setting: unknown event name, text that is not UTF-8, a value out of range,
 * a message over the size limit, a malformed URL or .env line.
 * Defined by the extension; this file is the fallback when it is not loaded (see SocketException.php).
 */
class InvalidArgumentException extends SocketException
{
}
