<?php

declare(strict_types=1);

namespace Nexus\Socket;

/**
 * Environment variables for configuration, the way Laravel's env() reads them:
 * the process environment wins over the application's .env file.
 *
 * The .env file is read once, lazily, from Config::basePath() (the current
 * directory unless the application says otherwise), and is kept here: it does
 * not change the process environment, so nothing leaks into child processes
 * and loading it twice is harmless.
 *
 * Its format is the native tool's (docs/configuration.md): NAME=value lines,
 * '#' comments (whole lines, or after " #" in unquoted values), an optional
 * `export `, values in single quotes (literal) or double quotes (\n, \t, \",
 * \\ understood). A malformed line throws InvalidArgumentException naming the
 * file and line.
 */
final class Env
{
    /** @var array<string, string>|null the loaded .env, null before loading */
    private static ?array $file = null;

    private function __construct()
    {
    }

    /**
     * The value of $key with Laravel's casts ('true', 'false', 'null',
     * 'empty', surrounding quotes), or $default (called when a Closure).
     */
    public static function get(string $key, mixed $default = null): mixed
    {
        $value = self::raw($key);
        if ($value === null) {
            return $default instanceof \Closure ? $default() : $default;
        }
        switch (strtolower($value)) {
            case 'true':
            case '(true)':
                return true;
            case 'false':
            case '(false)':
                return false;
            case 'empty':
            case '(empty)':
                return '';
            case 'null':
            case '(null)':
                return null;
        }
        if (preg_match('/\A([\'"])(.*)\1\z/s', $value, $m) === 1) {
            return $m[2];
        }
        return $value;
    }

    /** The value of $key as written, without casts; null when it is set nowhere. */
    public static function raw(string $key): ?string
    {
        $value = getenv($key);
        if ($value !== false) {
            return $value;
        }
        // Where Laravel's Dotenv puts what it loads, when it runs first.
        foreach ([$_ENV, $_SERVER] as $source) {
            if (isset($source[$key]) && is_string($source[$key])) {
                return $source[$key];
            }
        }
        if (self::$file === null) {
            self::load();
        }
        return self::$file[$key] ?? null;
    }

    /**
     * Reads a .env file (default: Config::basePath() . '/.env'), replacing
     * what was loaded before. A missing file is no error: there is just no
     * file configuration.
     *
     * @throws InvalidArgumentException for a malformed line or an unreadable file
     */
    public static function load(?string $path = null): void
    {
        $path ??= Config::basePath() . DIRECTORY_SEPARATOR . '.env';
        if (!is_file($path)) {
            self::$file = [];
            return;
        }
        $text = @file_get_contents($path);
        if ($text === false) {
            throw new InvalidArgumentException("{$path}: cannot be read", Native::EINVAL);
        }
        self::$file = self::parse($text, $path);
    }

    /** Forgets the loaded .env file: the next lookup reads it again (tests, a changed base path). */
    public static function reset(): void
    {
        self::$file = null;
    }

    /**
     * Parses .env text into NAME => value.
     *
     * @return array<string, string>
     * @throws InvalidArgumentException "$source:LINE: what is wrong"
     */
    public static function parse(string $text, string $source = '.env'): array
    {
        $out = [];
        foreach (preg_split('/\r?\n/', $text) ?: [] as $index => $raw) {
            $fail = static function (string $what) use ($source, $index): never {
                throw new InvalidArgumentException($source . ':' . ($index + 1) . ': ' . $what, Native::EINVAL);
            };
            $line = trim($raw, " \t\r");
            if ($line === '' || $line[0] === '#') {
                continue;
            }
            if (str_starts_with($line, 'export ')) {
                $line = ltrim(substr($line, 7), " \t");
            }
            $eq = strpos($line, '=');
            if ($eq === false || $eq === 0) {
                $fail('expected NAME=value');
            }
            $name = rtrim(substr($line, 0, $eq), " \t");
            if (preg_match('/\A[A-Za-z0-9_.]+\z/', $name) !== 1) {
                $fail("invalid variable name '{$name}'");
            }
            $out[$name] = self::parseValue(ltrim(substr($line, $eq + 1), " \t"), $fail);
        }
        return $out;
    }

    /** @param callable(string): never $fail */
    private static function parseValue(string $value, callable $fail): string
    {
        if ($value === '' || ($value[0] !== '"' && $value[0] !== "'")) {
            $hash = strpos($value, ' #');
            return $hash === false ? $value : rtrim(substr($value, 0, $hash), " \t");
        }
        $quote = $value[0];
        $unquoted = '';
        $length = strlen($value);
        for ($i = 1; $i < $length && $value[$i] !== $quote; ++$i) {
            if ($quote === '"' && $value[$i] === '\\' && $i + 1 < $length) {
                $next = $value[++$i];
                $unquoted .= match ($next) {
                    'n' => "\n",
                    't' => "\t",
                    default => $next,
                };
            } else {
                $unquoted .= $value[$i];
            }
        }
        if ($i >= $length) {
            $fail('unterminated quoted value');
        }
        $after = ltrim(substr($value, $i + 1), " \t");
        if ($after !== '' && $after[0] !== '#') {
            $fail('text after the closing quote');
        }
        return $unquoted;
    }
}
