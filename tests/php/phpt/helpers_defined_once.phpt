--TEST--
The global helpers are callable from any namespace, and an application's own env()/websocket() win
--FILE--
<?php
namespace App\Somewhere;

var_dump(function_exists('websocket'), function_exists('env'), function_exists('config')); // no config(): Laravel's differs
var_dump(\env('NEXUS_NOT_SET', 'fallback'), env('NEXUS_NOT_SET', 'unqualified'));

// A separate PHP without the prepended bootstrap: the application defines env() first.
$script = tempnam(sys_get_temp_dir(), 'nexus-helpers');
file_put_contents($script, '<?php
function env($key, $default = null) { return "the application\'s env()"; }
require ' . var_export(NEXUS_SOCKET_LIB_DIR . '/bootstrap.php', true) . ';
require ' . var_export(NEXUS_SOCKET_LIB_DIR . '/bootstrap.php', true) . '; // twice is harmless
echo env("X"), "\n";
echo function_exists("websocket") ? "websocket() defined\n" : "websocket() missing\n";
');
passthru(escapeshellarg(PHP_BINARY) . ' -n -d auto_prepend_file= ' . escapeshellarg($script), $status);
unlink($script);
var_dump($status);
?>
--EXPECT--
bool(true)
bool(true)
bool(false)
string(8) "fallback"
string(11) "unqualified"
the application's env()
websocket() defined
int(0)
