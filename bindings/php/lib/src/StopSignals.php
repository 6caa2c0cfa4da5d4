<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * SIGINT and SIGTERM as a graceful stop while a server's listen() runs
 * (WebSocket, SocketServer): one place for installing and restoring them.
 *
 * @internal
 */
final class StopSignals
{
    /**
     * Makes SIGINT and SIGTERM call $stop (from PHP's async signal handling,
     * between opcodes: never inside native code). Without pcntl this does
     * nothing.
     *
     * @param \Closure(): void $stop
     * @return \Closure(): void puts the previous handlers back
     */
    public static function trap(\Closure $stop): \Closure
    {
        if (!function_exists('pcntl_signal') || !function_exists('pcntl_async_signals')
            || !function_exists('pcntl_signal_get_handler')) {
            return static function (): void {
            };
        }
        $async = pcntl_async_signals(true);
        $previous = [];
        foreach ([SIGINT, SIGTERM] as $signal) {
            $previous[$signal] = pcntl_signal_get_handler($signal);
            pcntl_signal($signal, static fn () => $stop());
        }
        return static function () use ($async, $previous): void {
            foreach ($previous as $signal => $handler) {
                pcntl_signal($signal, $handler);
            }
            pcntl_async_signals($async);
        };
    }
}
