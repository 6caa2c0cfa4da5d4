<?php

/*
 * The seed's "Real-Time Notifications" server on the server's own channels:
 * subscribe(), unsubscribe() and publish() replace the seed's $subscribers
 * bookkeeping (a client's subscriptions end when it leaves). Same messages
 * as notification_server.php:
 *
 *   {"type": "subscribe", "channel": "news"}      -> {"type": "subscribed", "channel": "news"}
 *   {"type": "unsubscribe", "channel": "news"}
 *   {"type": "notify", "channel": "news", "data": {...}}
 *       -> every subscriber of "news": {"type": "notification", "channel": "news", "data": {...}}
 *
 *     build/bin/php-nexus examples/php/notification_channels_server.php
 */

use Nexus\Socket\InvalidArgumentException;
use Nexus\Socket\WebSocket;

class ChannelNotificationServer
{
    protected WebSocket $ws;

    public function __construct(string $host, int $port)
    {
        $this->ws = new WebSocket($host, $port);

        $this->ws->on('message', function ($clientId, $message) {
            $data = json_decode($message, true);
            if (!is_array($data) || !isset($data['type'], $data['channel']) || !is_string($data['channel'])) {
                return;
            }
            try {
                match ($data['type']) {
                    'subscribe' => $this->subscribe($clientId, $data['channel']),
                    'unsubscribe' => $this->ws->unsubscribe($clientId, $data['channel']),
                    'notify' => $this->notify($data['channel'], (array) ($data['data'] ?? [])),
                    default => null,
                };
            } catch (InvalidArgumentException $e) {
                // A channel name the server refuses (empty, too long, with a line break).
                $this->ws->send($clientId, json_encode(['type' => 'error', 'message' => $e->getMessage()]));
            }
        });
    }

    protected function subscribe(string $clientId, string $channel): void
    {
        $this->ws->subscribe($clientId, $channel);
        $this->ws->send($clientId, json_encode(['type' => 'subscribed', 'channel' => $channel]));
    }

    public function notify(string $channel, array $data): int
    {
        return $this->ws->publish($channel, json_encode([
            'type' => 'notification',
            'channel' => $channel,
            'data' => $data,
        ]));
    }

    public function start(): void
    {
        $this->ws->start();
        echo "Notification server running on ws://{$this->ws->getHost()}:{$this->ws->getPort()}\n";
        $this->ws->listen();
    }
}

$server = new ChannelNotificationServer(env('WEBSOCKET_HOST', '0.0.0.0'), (int) env('WEBSOCKET_PORT', 8080));
$server->start();
