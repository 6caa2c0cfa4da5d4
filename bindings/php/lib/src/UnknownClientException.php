<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * No connected client has that id (NX_ENOCLIENT): it never was, or its disconnect was delivered.
 * Defined by the extension; this file is the fallback when it is not loaded (see SocketException.php).
 */
class UnknownClientException extends SocketException
{
}
