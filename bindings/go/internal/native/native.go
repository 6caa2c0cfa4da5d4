// Package native is the layer SWIG generates from bindings/nexus_socket.i
// (through native.swig, which `go build` hands to SWIG), plus the little C
// the idiomatic package needs beside it. Only package nexus uses it.
package native

/*
#cgo pkg-config: nexus-socket
#include <errno.h>
#include <poll.h>

// Waits until fd (or cancel_fd, when >= 0) is readable, at most timeout_ms
// (negative: no limit). 1 when readable, 0 on timeout or a signal, -1 on
// error. Runs on the calling OS thread, which it blocks.
static int nx_go_wait_readable(int fd, int cancel_fd, int timeout_ms) {
	struct pollfd p[2] = {{fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
	int rc = poll(p, cancel_fd >= 0 ? 2 : 1, timeout_ms);
	if (rc < 0) {
		return errno == EINTR ? 0 : -1;
	}
	return rc > 0 ? 1 : 0;
}
*/
import "C"

// WaitReadable blocks the calling goroutine's thread until fd or cancelFD
// (ignored when negative) is readable or timeoutMS passes (negative: no
// limit). It reports whether one was readable; false also after a signal,
// so callers loop.
func WaitReadable(fd, cancelFD, timeoutMS int) (bool, error) {
	rc, err := C.nx_go_wait_readable(C.int(fd), C.int(cancelFD), C.int(timeoutMS))
	if rc < 0 {
		return false, err
	}
	return rc > 0, nil
}
