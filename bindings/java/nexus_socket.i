/*
 * Java overlay: the typemaps bindings/nexus_socket.i asks for and the one
 * table status -> exception class. SWIG generates the package
 * io.nexussocket.internal (NexusNative, NxWsServer, ...) and the JNI library
 * libnexus_socket_java.so; the public classes in io.nexussocket sit on top.
 *
 * No directors, no callbacks from native threads: the host pulls events,
 * so SWIG_JAVA_NO_DETACH_CURRENT_THREAD / ATTACH_AS_DAEMON are not needed.
 */
%module NexusNative

/* No finalizers: the io.nexussocket classes free their handles in close(). */
%typemap(javafinalize) SWIGTYPE ""

/* uint64_t as Java long (client ids, sizes), not BigInteger. */
%apply long long { uint64_t };
%apply long long { int64_t };

%{
#include <jni.h>
#include "nexus/socket.h"

/* One table: status -> exception class (all extend NexusException, which
 * has a constructor (String message, int status)). */
static const char *nx_java_exception_for(int status) {
    switch (status) {
    case NX_ETIMEDOUT:
        return "io/nexussocket/TimeoutException";
    case NX_EDNS:
    case NX_EREFUSED:
    case NX_EUNREACHABLE:
    case NX_EHANDSHAKE:
    case NX_EIO:
    case NX_ECLOSED:
    case NX_ECLOSING:
    case NX_ETLS:
    case NX_ECERT:
        return "io/nexussocket/ConnectionException";
    case NX_ENOCLIENT:
        return "io/nexussocket/UnknownClientException";
    case NX_EUNAVAILABLE:
        return "io/nexussocket/UnavailableException";
    case NX_EINVAL:
    case NX_EUTF8:
    case NX_ETOOBIG:
    case NX_EURL:
    case NX_ETLSCONFIG:
        return "io/nexussocket/InvalidArgumentException";
    default:
        return "io/nexussocket/NexusException";
    }
}

static void nx_java_throw(JNIEnv *jenv, int status, const char *detail) {
    jclass cls = (*jenv)->FindClass(jenv, nx_java_exception_for(status));
    if (cls == NULL) {
        return; /* NoClassDefFoundError is pending */
    }
    jmethodID ctor = (*jenv)->GetMethodID(jenv, cls, "<init>", "(Ljava/lang/String;I)V");
    if (ctor == NULL) {
        return;
    }
    jstring text = (*jenv)->NewStringUTF(jenv, detail);
    if (text == NULL) {
        return;
    }
    jobject error = (*jenv)->NewObject(jenv, cls, ctor, text, (jint)status);
    if (error != NULL) {
        (*jenv)->Throw(jenv, (jthrowable)error);
    }
}
%}

/* Every wrapped call: a negative status becomes the exception of its class. */
%exception {
    nx_binding_status = 0;
    $action
    if (nx_binding_status < 0) {
        nx_java_throw(jenv, nx_binding_status, nx_binding_detail);
        nx_binding_status = 0;
        return $null;
    }
}

/* nx_result: nothing (void in Java); errors are exceptions. */
%typemap(jni) nx_result "jint"
%typemap(jtype) nx_result "int"
%typemap(jstype) nx_result "void"
%typemap(out) nx_result %{ $result = (jint)$1; %}
%typemap(javaout) nx_result { $jnicall; }

%typemap(jni) nx_count "jint"
%typemap(jtype) nx_count "int"
%typemap(jstype) nx_count "int"
%typemap(out) nx_count %{ $result = (jint)$1; %}
%typemap(javaout) nx_count { return $jnicall; }

/* Binary-safe bytes out: byte[] (empty, never null). */
%typemap(jni) nx_bytes "jbyteArray"
%typemap(jtype) nx_bytes "byte[]"
%typemap(jstype) nx_bytes "byte[]"
%typemap(out) nx_bytes %{
    $result = (*jenv)->NewByteArray(jenv, (jsize)$1.size);
    if ($result != NULL && $1.size > 0) {
        (*jenv)->SetByteArrayRegion(jenv, $result, 0, (jsize)$1.size, (const jbyte *)$1.data);
    }
    if ($1.owned) {
        free((void *)$1.data);
    }
%}
%typemap(javaout) nx_bytes { return $jnicall; }

/* NULL data: Java null. */
%typemap(jni) nx_optional_bytes "jbyteArray"
%typemap(jtype) nx_optional_bytes "byte[]"
%typemap(jstype) nx_optional_bytes "byte[]"
%typemap(out) nx_optional_bytes %{
    $result = NULL;
    if ($1.data != NULL) {
        $result = (*jenv)->NewByteArray(jenv, (jsize)$1.size);
        if ($result != NULL && $1.size > 0) {
            (*jenv)->SetByteArrayRegion(jenv, $result, 0, (jsize)$1.size, (const jbyte *)$1.data);
        }
    }
    if ($1.owned) {
        free((void *)$1.data);
    }
%}
%typemap(javaout) nx_optional_bytes { return $jnicall; }

%typemap(jni) nx_ids "jlongArray"
%typemap(jtype) nx_ids "long[]"
%typemap(jstype) nx_ids "long[]"
%typemap(out) nx_ids %{
    $result = (*jenv)->NewLongArray(jenv, (jsize)$1.count);
    if ($result != NULL && $1.count > 0) {
        (*jenv)->SetLongArrayRegion(jenv, $result, 0, (jsize)$1.count, (const jlong *)$1.ids);
    }
    free($1.ids);
%}
%typemap(javaout) nx_ids { return $jnicall; }

%include "../nexus_socket.i"
