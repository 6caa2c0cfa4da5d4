--TEST--
env(): the process environment wins over .env; .env syntax; Laravel's casts; errors name file and line
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\Config;
use Nexus\Socket\Env;

$dir = sys_get_temp_dir() . '/nexus-env-' . getmypid();
@mkdir($dir);
file_put_contents("$dir/.env", <<<'ENV'
# Socket Configuration
SOCKET_TYPE=tcp
export WEBSOCKET_PORT=9100
PLAIN = spaced value   # a comment
SINGLE='literal \n # kept'
DOUBLE="line\nnext \"quoted\" \\ end"  # comment after quotes
EMPTY=
IS_TRUE=true
IS_FALSE=(false)
IS_NULL=null
IS_EMPTY=empty
QUOTED_TRUE="true"
HASH=a#b
OVERRIDDEN=from-file
ENV);
chdir($dir);
Config::reset();

putenv('OVERRIDDEN=from-environment');
var_dump(env('SOCKET_TYPE'), env('WEBSOCKET_PORT'), env('PLAIN'), env('SINGLE'), env('DOUBLE'));
var_dump(env('EMPTY'), env('IS_TRUE'), env('IS_FALSE'), env('IS_NULL', 'default'), env('IS_EMPTY'));
var_dump(env('QUOTED_TRUE'), env('HASH'), env('OVERRIDDEN'));
var_dump(env('NOT_SET'), env('NOT_SET', 30), env('NOT_SET', fn () => 'lazy'));
putenv('FROM_ENV="quoted in env"');
var_dump(env('FROM_ENV'));
var_dump(Env::raw('IS_TRUE'));

foreach (["GOOD=1\nBAD LINE\n", "=value\n", "A B=1\n", "Q=\"open\n", "Q='x' y\n"] as $text) {
    try {
        Env::parse($text, '/app/.env');
    } catch (Nexus\Socket\InvalidArgumentException $e) {
        echo $e->getMessage(), "\n";
    }
}
file_put_contents("$dir/.env", "OK=1\nnot a line\n");
Config::reset();
try {
    env('OK');
} catch (Nexus\Socket\InvalidArgumentException $e) {
    echo str_replace($dir, 'DIR', $e->getMessage()), "\n";
}
unlink("$dir/.env");
rmdir($dir);
?>
--EXPECT--
string(3) "tcp"
string(4) "9100"
string(12) "spaced value"
string(17) "literal \n # kept"
string(24) "line
next "quoted" \ end"
string(0) ""
bool(true)
bool(false)
NULL
string(0) ""
bool(true)
string(3) "a#b"
string(16) "from-environment"
NULL
int(30)
string(4) "lazy"
string(13) "quoted in env"
string(4) "true"
/app/.env:2: expected NAME=value
/app/.env:1: expected NAME=value
/app/.env:1: invalid variable name 'A B'
/app/.env:1: unterminated quoted value
/app/.env:1: text after the closing quote
DIR/.env:2: expected NAME=value
