<?php

/*
 * The seed's port scanner: a TCP connect to each port, with a timeout.
 *
 *     build/bin/php-nexus examples/php/port_scanner.php [HOST [PORTS [TIMEOUT]]]
 *
 * PORTS is a comma-separated list, ranges allowed ("22,80,8000-8010");
 * default example.com 80,443,8080,3306 with a 2 s timeout. Prints the open
 * ports with print_r().
 */

use Nexus\Socket\Socket;

class PortScanner
{
    public function scan(string $host, array $ports, int $timeout = 2): array
    {
        $openPorts = [];

        foreach ($ports as $port) {
            $socket = Socket::tcp()->timeout($timeout);

            try {
                $socket->connect($host, $port, $timeout);
                $openPorts[] = $port;
                $socket->close();
            } catch (Exception $e) {
                // Port is closed
            }
        }

        return $openPorts;
    }
}

/** "22,80,8000-8010" as a list of ports. */
function parse_ports(string $text): array
{
    $ports = [];
    foreach (explode(',', $text) as $item) {
        if (preg_match('/\A\s*(\d+)\s*(?:-\s*(\d+)\s*)?\z/', $item, $m) !== 1) {
            fwrite(STDERR, "not a port or range: '{$item}'\n");
            exit(2);
        }
        $ports = array_merge($ports, range((int) $m[1], (int) ($m[2] ?? $m[1])));
    }
    return $ports;
}

// Usage
$scanner = new PortScanner();
$openPorts = $scanner->scan(
    $argv[1] ?? 'example.com',
    parse_ports($argv[2] ?? '80,443,8080,3306'),
    (int) ($argv[3] ?? 2)
);
print_r($openPorts);
