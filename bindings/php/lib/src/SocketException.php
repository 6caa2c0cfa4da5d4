<?php

declare(strict_types=1);

namespace Nexus\Socket;

/*
 * The extension defines this class (and its subclasses) itself and throws
 * them from every failing native call; the autoloader reaches this file only
 * when the extension is not loaded, so that the pure-PHP parts (env(),
 * configuration, the CLI's error message) can still throw and catch the same
 * names. Keep the hierarchy identical to the extension's.
 */

/** Any failure of nexus-socket; getCode() is the native NX_E* status (0 when none applies). */
class SocketException extends \RuntimeException
{
}
