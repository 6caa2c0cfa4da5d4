<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * A connection could not be made or broke: DNS, refused, unreachable, handshake, I/O, closed.
 * Defined by the extension; this file is the fallback when it is not loaded (see SocketException.php).
 */
class ConnectionException extends SocketException
{
}
