--TEST--
socket(): a global helper from any namespace, each type; an application's own socket() wins
--SKIPIF--
<?php if (!class_exists('NxSocket')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
namespace App\Somewhere;

var_dump(function_exists('socket'));
foreach (['tcp', 'udp', 'ssl', 'tls', 'TCP'] as $type) {
    $s = socket($type);
    echo get_class($s), ' ', $s->getType(), "\n";
}
var_dump(\socket('tcp', ['timeout' => 3])->getTimeout());

$script = tempnam(sys_get_temp_dir(), 'nexus-helpers');
file_put_contents($script, '<?php
function socket($type) { return "the application\'s socket()"; }
require ' . var_export(NEXUS_SOCKET_LIB_DIR . '/bootstrap.php', true) . ';
echo socket("tcp"), "\n";
');
passthru(escapeshellarg(PHP_BINARY) . ' -n -d auto_prepend_file= ' . escapeshellarg($script), $status);
unlink($script);
var_dump($status);
?>
--EXPECT--
bool(true)
Nexus\Socket\Socket tcp
Nexus\Socket\Socket udp
Nexus\Socket\Socket ssl
Nexus\Socket\Socket tls
Nexus\Socket\Socket tcp
float(3)
the application's socket()
int(0)
