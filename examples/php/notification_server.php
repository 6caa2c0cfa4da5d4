<?php

/*
 * The seed's "Real-Time Notifications" server: clients subscribe to channels
 * and receive the notifications of those channels, with the bookkeeping in
 * PHP as the seed has it. notification_channels_server.php does the same
 * with the server's own channels.
 *
 *     build/bin/php-nexus examples/php/notification_server.php
 *
 * Messages (JSON):
 *   {"type": "subscribe", "channel": "news"}      -> {"type": "subscribed", "channel": "news"}
 *   {"type": "unsubscribe", "channel": "news"}
 *   {"type": "notify", "channel": "news", "data": {...}}
 *       -> every subscriber of "news": {"type": "notification", "channel": "news", "data": {...}}
 * ("notify" is this example's addition: the seed's notify() has no caller; in an
 * application it is whatever produces notifications.)
 *
 * Address from WEBSOCKET_HOST / WEBSOCKET_PORT (environment or .env), default
 * 0.0.0.0:8080; the "running" line shows the real port.
 */

use Nexus\Socket\WebSocket;

class NotificationServer
{
    protected WebSocket $ws;
    protected array $subscribers = [];

    public function __construct(string $host, int $port)
    {
        $this->ws = new WebSocket($host, $port);
        $this->setupHandlers();
    }

    protected function setupHandlers(): void
    {
        $this->ws->on('connect', function ($clientId) {
            $this->subscribers[$clientId] = [];
        });

        $this->ws->on('message', function ($clientId, $message) {
            $data = json_decode($message, true);

            // Not in the seed: ignore what is not a JSON object with a type.
            if (!is_array($data) || !isset($data['type'], $data['channel']) || !is_string($data['channel'])) {
                return;
            }

            if ($data['type'] === 'subscribe') {
                $this->subscribe($clientId, $data['channel']);
            } elseif ($data['type'] === 'unsubscribe') {
                $this->unsubscribe($clientId, $data['channel']);
            } elseif ($data['type'] === 'notify') {
                $this->notify($data['channel'], (array) ($data['data'] ?? []));
            }
        });

        $this->ws->on('disconnect', function ($clientId) {
            unset($this->subscribers[$clientId]);
        });
    }

    protected function subscribe(string $clientId, string $channel): void
    {
        $this->subscribers[$clientId][] = $channel;
        $this->ws->send($clientId, json_encode([
            'type' => 'subscribed',
            'channel' => $channel
        ]));
    }

    protected function unsubscribe(string $clientId, string $channel): void
    {
        $key = array_search($channel, $this->subscribers[$clientId]);
        if ($key !== false) {
            unset($this->subscribers[$clientId][$key]);
        }
    }

    public function notify(string $channel, array $data): void
    {
        foreach ($this->subscribers as $clientId => $channels) {
            if (in_array($channel, $channels)) {
                $this->ws->send($clientId, json_encode([
                    'type' => 'notification',
                    'channel' => $channel,
                    'data' => $data
                ]));
            }
        }
    }

    public function start(): void
    {
        // Not in the seed: bind first, to print the real port.
        $this->ws->start();
        echo "Notification server running on ws://{$this->ws->getHost()}:{$this->ws->getPort()}\n";
        $this->ws->listen();
    }
}

// Usage
$server = new NotificationServer(env('WEBSOCKET_HOST', '0.0.0.0'), (int) env('WEBSOCKET_PORT', 8080));
$server->start();
