<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * The application's configuration files, config/NAME.php returning an array
 * (config/socket.php is the seed's), read by dotted key:
 * Config::get('socket.websocket.port').
 *
 * A file is looked for under the base path (the current directory unless
 * setBasePath() says otherwise, as the `nexus` command does); when the
 * application has none, the one shipped with nexus-socket is used, so the
 * WEBSOCKET_* variables always apply. Files are read once and cached (as
 * Laravel caches its configuration): after changing the environment at run
 * time, reset() makes the next lookup read them again.
 */
final class Config
{
    private static ?string $basePath = null;

    /** @var array<string, array<mixed>> file name => its array */
    private static array $files = [];

    private function __construct()
    {
    }

    /** The application's root: where config/ and .env are looked for. */
    public static function basePath(): string
    {
        if (self::$basePath === null) {
            $cwd = getcwd();
            return $cwd === false ? '.' : $cwd;
        }
        return self::$basePath;
    }

    /** Sets the application's root; forgets loaded files and the loaded .env. */
    public static function setBasePath(?string $path): void
    {
        self::$basePath = $path === null ? null : rtrim($path, '/\\');
        self::reset();
    }

    /** Forgets what was read, so that the next lookup reads the files again. */
    public static function reset(): void
    {
        self::$files = [];
        Env::reset();
    }

    /** The value at a dotted key ('socket.websocket.port'), $default when absent. */
    public static function get(string $key, mixed $default = null): mixed
    {
        $parts = explode('.', $key);
        $value = self::file(array_shift($parts));
        foreach ($parts as $part) {
            if (!is_array($value) || !array_key_exists($part, $value)) {
                return $default;
            }
            $value = $value[$part];
        }
        return $value;
    }

    /**
     * The array config/NAME.php returns ([] when there is no such file).
     *
     * @return array<mixed>
     * @throws InvalidArgumentException when the file returns something else than an array
     */
    public static function file(string $name): array
    {
        if (array_key_exists($name, self::$files)) {
            return self::$files[$name];
        }
        if (preg_match('/\A[A-Za-z0-9_-]+\z/', $name) !== 1) {
            return [];
        }
        $path = self::path($name);
        $data = $path === null ? [] : (static fn (string $file): mixed => require $file)($path);
        if (!is_array($data)) {
            throw new InvalidArgumentException("{$path} must return an array", Native::EINVAL);
        }
        return self::$files[$name] = $data;
    }

    /** Where config/NAME.php is read from: the application's, else the bundled one, else null. */
    public static function path(string $name): ?string
    {
        foreach ([self::basePath(), self::bundledRoot()] as $root) {
            $file = $root . '/config/' . $name . '.php';
            if (is_file($file)) {
                return $file;
            }
        }
        return null;
    }

    /** The root of the nexus-socket tree this library is part of (bindings/php/lib/src -> four up). */
    public static function bundledRoot(): string
    {
        return dirname(__DIR__, 4);
    }
}
