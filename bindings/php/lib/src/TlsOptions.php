<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * PHP's ssl stream-context options (php.net/context.ssl) as the native
 * layer takes them: name => text, with SNI_server_certs turned into one
 * "sni:HOST" => "CERT,KEY[,PASSPHRASE]" entry per host.
 *
 * @internal used by SocketServer, WebSocket and WebSocketClient
 */
final class TlsOptions
{
    /**
     * @param array<string, mixed> $ssl PHP's ssl context options
     * @param string $where what the options belong to, for messages ("WebSocket option ssl")
     * @return array<string, string>
     * @throws InvalidArgumentException for a value that is not a string, number or bool,
     *         or a malformed SNI_server_certs
     */
    public static function toNative(array $ssl, string $where): array
    {
        $native = [];
        foreach ($ssl as $name => $value) {
            if (!is_string($name)) {
                throw new InvalidArgumentException("{$where}: expected option names as keys", Native::EINVAL);
            }
            if ($name === 'SNI_server_certs') {
                $native += self::sniCertificates($value, $where);
            } else {
                $native[$name] = Socket::optionText($name, $value);
            }
        }
        return $native;
    }

    /**
     * PHP's SNI_server_certs: host => certificate file, or [local_cert, local_pk, passphrase].
     *
     * @return array<string, string>
     */
    private static function sniCertificates(mixed $certificates, string $where): array
    {
        if (!is_array($certificates)) {
            throw new InvalidArgumentException("{$where} SNI_server_certs: expected host => certificate", Native::EINVAL);
        }
        $native = [];
        foreach ($certificates as $host => $files) {
            if (is_string($files)) {
                $files = ['local_cert' => $files];
            }
            if (!is_array($files) || !isset($files['local_cert']) || !is_string($files['local_cert'])) {
                throw new InvalidArgumentException(
                    sprintf('%s SNI_server_certs[%s]: expected a certificate file or [local_cert, local_pk, passphrase]', $where, $host),
                    Native::EINVAL
                );
            }
            $value = $files['local_cert'] . ',' . (string) ($files['local_pk'] ?? $files['local_cert']);
            if (isset($files['passphrase']) && $files['passphrase'] !== '') {
                $value .= ',' . (string) $files['passphrase'];
            }
            $native['sni:' . $host] = $value;
        }
        return $native;
    }
}
