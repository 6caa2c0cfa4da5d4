<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * An operation did not finish in time (NX_ETIMEDOUT).
 * Defined by the extension; this file is the fallback when it is not loaded (see SocketException.php).
 */
class TimeoutException extends ConnectionException
{
}
