--TEST--
phpinfo() shows the extension and the library version; nx_version() matches it
--SKIPIF--
<?php if (!class_exists('NxWsServer')) die('skip nexus_socket extension not loaded'); ?>
--FILE--
<?php
ob_start();
phpinfo(INFO_MODULES);
$info = ob_get_clean();
$version = nx_version_string();
var_dump((bool) preg_match('/^\d+\.\d+\.\d+$/', $version));
var_dump(str_contains($info, 'nexus_socket'));
var_dump(str_contains($info, "Library version (libnexus-socket) => $version"));
[$major, $minor, $patch] = array_map('intval', explode('.', $version));
var_dump(nx_version() === $major * 10000 + $minor * 100 + $patch);
var_dump(extension_loaded('nexus_socket'));
?>
--EXPECT--
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
