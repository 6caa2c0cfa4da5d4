<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * The timers of one server: one-shot (after) and repeating (every), on the
 * monotonic clock. The poll loop asks how long it may wait (nextDelay) and
 * takes the timers that are due (takeDue); it calls them itself, so that a
 * timer's exception goes where a callback's would.
 *
 * A linear scan finds the next timer: servers have a handful of timers, and
 * that keeps cancel() trivial.
 *
 * @internal used by WebSocket
 */
final class TimerQueue
{
    /** @var array<int, array{due: float, interval: float|null, callback: callable}> */
    private array $timers = [];

    private int $nextId = 1;

    /** Now, in seconds on the monotonic clock. */
    public static function now(): float
    {
        return hrtime(true) / 1e9;
    }

    /**
     * Adds a timer due in $delay seconds, repeating every $interval seconds
     * when given. Returns its id (> 0).
     */
    public function add(float $delay, ?float $interval, callable $callback): int
    {
        $id = $this->nextId++;
        $this->timers[$id] = ['due' => self::now() + $delay, 'interval' => $interval, 'callback' => $callback];
        return $id;
    }

    /** Cancels a timer; false when there is no such timer (already run, cancelled, or never made). */
    public function cancel(int $id): bool
    {
        if (!isset($this->timers[$id])) {
            return false;
        }
        unset($this->timers[$id]);
        return true;
    }

    public function count(): int
    {
        return count($this->timers);
    }

    /** Seconds until the next timer is due (0 when one is due now), null when there are none. */
    public function nextDelay(): ?float
    {
        if ($this->timers === []) {
            return null;
        }
        $due = min(array_column($this->timers, 'due'));
        return max(0.0, $due - self::now());
    }

    /**
     * The ids of the timers due now, earliest first. Take each with take():
     * a callback may cancel a timer that is due in the same round.
     *
     * @return list<int>
     */
    public function dueIds(): array
    {
        $now = self::now();
        $due = array_filter($this->timers, static fn (array $t): bool => $t['due'] <= $now);
        uasort($due, static fn (array $a, array $b): int => $a['due'] <=> $b['due']);
        return array_keys($due);
    }

    /**
     * The callback of a due timer, null when it was cancelled meanwhile. A
     * one-shot timer is removed; a repeating one is rescheduled a whole
     * interval after its due time (or after now, when the loop fell behind:
     * no catch-up bursts).
     */
    public function take(int $id): ?callable
    {
        $timer = $this->timers[$id] ?? null;
        if ($timer === null) {
            return null;
        }
        if ($timer['interval'] === null) {
            unset($this->timers[$id]);
        } else {
            $now = self::now();
            $next = $timer['due'] + $timer['interval'];
            $this->timers[$id]['due'] = $next > $now ? $next : $now + $timer['interval'];
        }
        return $timer['callback'];
    }
}
