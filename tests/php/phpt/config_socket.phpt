--TEST--
config/socket.php returns the seed's array (and the rest of the WEBSOCKET_* settings); Config::get() reads it by dotted key
--FILE--
<?php
declare(strict_types=1);

use Nexus\Socket\Config;

$root = dirname(NEXUS_SOCKET_LIB_DIR, 3);
$dir = sys_get_temp_dir() . '/nexus-config-' . getmypid();
@mkdir($dir);
chdir($dir); // no config/ and no .env here: the bundled config/socket.php applies
Config::reset();

$config = require $root . '/config/socket.php';
var_dump($config['default'], $config['timeout'], $config['websocket']['host'], $config['websocket']['port'],
    $config['websocket']['max_clients'], $config['ssl']['verify_peer'], $config['ssl']['verify_peer_name']);
echo implode(',', array_keys($config)), "\n";
echo implode(',', array_keys($config['websocket'])), "\n";
var_dump(Config::path('socket') === realpath($root . '/config/socket.php'));

var_dump(Config::get('socket.websocket.port'), Config::get('socket.websocket.ping_interval'), Config::get('socket.nope', 'd'));
putenv('WEBSOCKET_PORT=9001');
putenv('SOCKET_SSL_VERIFY_PEER=false');
Config::reset();
var_dump(Config::get('socket.websocket.port'), Config::get('socket.ssl.verify_peer'));

// An application's own config/socket.php wins over the bundled one.
mkdir("$dir/config");
file_put_contents("$dir/config/socket.php", "<?php return ['websocket' => ['port' => 1234]];");
Config::reset();
var_dump(Config::get('socket.websocket.port'), Config::get('socket.websocket.host', 'absent'));
unlink("$dir/config/socket.php");
rmdir("$dir/config");
rmdir($dir);
?>
--EXPECT--
string(3) "tcp"
int(30)
string(7) "0.0.0.0"
int(8080)
int(100)
bool(true)
bool(true)
default,timeout,websocket,ssl
host,port,max_clients,threads,ping_interval,pong_timeout,handshake_timeout,idle_timeout,max_header_bytes,max_frame_size,max_message_size,max_send_queue,rate_limit,stop_timeout,allowed_origins,subprotocols,compression,deflate_level,static_dir,log_level,tls_cert,tls_key,tls_passphrase,scaling,redis_url,scaling_prefix,scaling_lease,scaling_timeout,scaling_backlog
bool(true)
int(8080)
int(30)
string(1) "d"
string(4) "9001"
bool(false)
int(1234)
string(6) "absent"
