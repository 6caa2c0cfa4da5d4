--TEST--
poll() steps without blocking; after()/every()/cancelTimer(); timer exceptions; stop() ends listen()
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\WebSocket;

$ws = new WebSocket('127.0.0.1', 0);
var_dump($ws->isRunning(), $ws->getStats()['clients']);
var_dump($ws->poll(0));                 // starts the server; nothing to do
var_dump($ws->isRunning(), $ws->getPort() > 0);

// Timers: one-shot, repeating, cancelled; the order they fire in.
$log = [];
$ws->after(0.05, function (int $id) use (&$log) { $log[] = "after#$id"; });
$never = $ws->after(0.01, function () use (&$log) { $log[] = 'cancelled one ran'; });
$ticks = 0;
$every = $ws->every(0.02, function () use (&$log, &$ticks) { $log[] = 'tick'; ++$ticks; });
var_dump($ws->cancelTimer($never), $ws->cancelTimer($never), $ws->cancelTimer(999));
$handled = 0;
$start = hrtime(true);
while ($ticks < 4 && hrtime(true) - $start < 5e9) {
    $handled += $ws->poll(1.0);     // returns when the next timer is due, not after 1 s
}
var_dump($ticks, $handled >= 5, in_array('after#1', $log, true), in_array('cancelled one ran', $log, true));
var_dump($ws->cancelTimer($every));
try {
    $ws->every(0, fn () => null);
} catch (Nexus\Socket\InvalidArgumentException $e) {
    echo $e->getMessage(), "\n";
}
try {
    $ws->poll(-1);
} catch (Nexus\Socket\InvalidArgumentException $e) {
    echo $e->getMessage(), "\n";
}

// A timer's exception leaves poll() when there is no 'error' handler...
$ws->after(0, function () { throw new RuntimeException('boom'); });
try {
    $ws->poll(0.5);
} catch (RuntimeException $e) {
    echo 'poll threw: ', $e->getMessage(), "\n";
}
// ... and goes to it when there is one, the loop carrying on.
$ws->on('error', function (?string $clientId, Throwable $e) { echo 'error handler: ', var_export($clientId, true), ' ', $e->getMessage(), "\n"; });
$ws->after(0, function () { throw new LogicException('bang'); });
var_dump($ws->poll(0.5));

// stop() from a timer ends listen().
$ws->after(0.05, fn () => $ws->stop());
$ws->listen();
var_dump($ws->isRunning(), $ws->isStopping(), $ws->poll(0));

// stop() before the start: listen() returns at once without binding.
$idle = new WebSocket('127.0.0.1', 0);
$idle->stop();
$idle->listen();
var_dump($idle->isRunning());
?>
--EXPECT--
bool(false)
int(0)
int(0)
bool(true)
bool(true)
bool(true)
bool(false)
bool(false)
int(4)
bool(true)
bool(true)
bool(false)
bool(true)
a repeating timer needs a finite interval > 0 seconds
poll timeout must be a finite number of seconds >= 0
poll threw: boom
error handler: NULL bang
int(1)
bool(false)
bool(true)
int(0)
bool(false)
