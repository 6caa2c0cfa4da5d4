/*
 * PHP overlay: the typemaps bindings/nexus_socket.i asks for, the exception
 * classes, and phpinfo(). Builds the extension nexus_socket.so.
 */
%module nexus_socket

%pragma(php) version="0.1.0"

%{
#include "nexus/socket.h"
#include "zend_exceptions.h"
#include "ext/spl/spl_exceptions.h"
#include "ext/standard/info.h"

static zend_class_entry *nx_php_socket_exception;
static zend_class_entry *nx_php_connection_exception;
static zend_class_entry *nx_php_timeout_exception;
static zend_class_entry *nx_php_unknown_client_exception;
static zend_class_entry *nx_php_invalid_argument_exception;

static zend_class_entry *nx_php_register_exception(const char *name, zend_class_entry *parent) {
    zend_class_entry ce;
    INIT_CLASS_ENTRY_EX(ce, name, strlen(name), NULL);
    return zend_register_internal_class_ex(&ce, parent);
}

/* One table: status -> exception class. */
static zend_class_entry *nx_php_exception_for(int status) {
    switch (status) {
    case NX_ETIMEDOUT:
        return nx_php_timeout_exception;
    case NX_EDNS:
    case NX_EREFUSED:
    case NX_EUNREACHABLE:
    case NX_EHANDSHAKE:
    case NX_EIO:
    case NX_ECLOSED:
        return nx_php_connection_exception;
    case NX_ENOCLIENT:
        return nx_php_unknown_client_exception;
    case NX_EINVAL:
    case NX_EUTF8:
    case NX_ETOOBIG:
    case NX_EURL:
        return nx_php_invalid_argument_exception;
    default:
        return nx_php_socket_exception;
    }
}
%}

%minit %{
    nx_php_socket_exception =
        nx_php_register_exception("Nexus\\Socket\\SocketException", spl_ce_RuntimeException);
    nx_php_connection_exception =
        nx_php_register_exception("Nexus\\Socket\\ConnectionException", nx_php_socket_exception);
    nx_php_timeout_exception =
        nx_php_register_exception("Nexus\\Socket\\TimeoutException", nx_php_connection_exception);
    nx_php_unknown_client_exception =
        nx_php_register_exception("Nexus\\Socket\\UnknownClientException", nx_php_socket_exception);
    nx_php_invalid_argument_exception =
        nx_php_register_exception("Nexus\\Socket\\InvalidArgumentException", nx_php_socket_exception);
%}

%pragma(php) phpinfo=%{
    php_info_print_table_start();
    php_info_print_table_header(2, "nexus_socket", "enabled");
    php_info_print_table_row(2, "Extension version", "0.1.0");
    php_info_print_table_row(2, "Library version (libnexus-socket)", nx_version_string());
    php_info_print_table_end();
%}

/* Every wrapped call: a negative status becomes the exception of its class. */
%exception {
    nx_binding_status = 0;
    $action
    if (nx_binding_status < 0) {
        zend_throw_exception(nx_php_exception_for(nx_binding_status), nx_binding_detail,
                             nx_binding_status);
        nx_binding_status = 0;
        SWIG_fail;
    }
}

%typemap(out, phptype="void") nx_result %{
    RETVAL_NULL();
%}
%typemap(out, phptype="int") nx_count %{
    RETVAL_LONG($1);
%}
%typemap(out, phptype="string") nx_bytes %{
    RETVAL_STRINGL($1.data != NULL ? $1.data : "", $1.size);
    if ($1.owned) {
        free((void *)$1.data);
    }
%}
%typemap(out, phptype="array") nx_ids %{
    array_init_size(return_value, (uint32_t)$1.count);
    for (size_t nx_i = 0; nx_i < $1.count; ++nx_i) {
        add_next_index_long(return_value, (zend_long)$1.ids[nx_i]);
    }
    free($1.ids);
%}

%include "../nexus_socket.i"
