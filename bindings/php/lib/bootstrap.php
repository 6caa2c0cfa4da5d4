<?php

declare(strict_types=1);

/*
 * Entry point of the PHP library of nexus-socket.
 *
 * build/bin/php-nexus loads it with auto_prepend_file, after the extension
 * (nexus_socket.so, which gives the low-level classes NxWsServer, NxWsClient,
 * ... and the exception classes). Scripts run with plain `php` may require it
 * themselves. It only registers things; it connects, binds and reads nothing.
 *
 * - an autoloader for Nexus\Socket\ -> src/ (PSR-4);
 * - the global helpers websocket(), socket() and env() (helpers.php), each
 *   defined only where the application has not defined one of that name.
 *
 * Loading it twice is harmless.
 */

if (defined('NEXUS_SOCKET_LIB_DIR')) {
    return;
}

/** The directory of this file: bindings/php/lib. */
define('NEXUS_SOCKET_LIB_DIR', __DIR__);

spl_autoload_register(static function (string $class): void {
    $prefix = 'Nexus\\Socket\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $relative = str_replace('\\', '/', substr($class, strlen($prefix)));
    $file = __DIR__ . '/src/' . $relative . '.php';
    if (is_file($file)) {
        require $file;
    }
});

require __DIR__ . '/helpers.php';
