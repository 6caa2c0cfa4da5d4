package nexus

import (
	"errors"
	"runtime"
	"strconv"

	"nexus-socket/nexus/internal/native"
)

// Code is a status of the C API (enum nx_status in
// capi/include/nexus/socket.h). The values are pinned forever.
type Code int

// The C API's statuses.
const (
	CodeInvalidArgument Code = -1  // NX_EINVAL
	CodeNoMemory        Code = -2  // NX_ENOMEM
	CodeState           Code = -3  // NX_ESTATE
	CodeNoClient        Code = -4  // NX_ENOCLIENT
	CodeUTF8            Code = -5  // NX_EUTF8
	CodeClosing         Code = -6  // NX_ECLOSING
	CodeQueueFull       Code = -7  // NX_EQUEUEFULL
	CodeTimeout         Code = -8  // NX_ETIMEDOUT
	CodeBind            Code = -9  // NX_EBIND
	CodeURL             Code = -10 // NX_EURL
	CodeDNS             Code = -11 // NX_EDNS
	CodeRefused         Code = -12 // NX_EREFUSED
	CodeUnreachable     Code = -13 // NX_EUNREACHABLE
	CodeHandshake       Code = -14 // NX_EHANDSHAKE
	CodeIO              Code = -15 // NX_EIO
	CodeClosed          Code = -16 // NX_ECLOSED
	CodeTLS             Code = -17 // NX_ETLS
	CodeCert            Code = -18 // NX_ECERT
	CodeInternal        Code = -19 // NX_EINTERNAL
	CodeTooBig          Code = -20 // NX_ETOOBIG
	CodeTLSConfig       Code = -21 // NX_ETLSCONFIG
	CodeUnavailable     Code = -22 // NX_EUNAVAILABLE
)

// String is the C API's static text for the code ("invalid argument").
func (c Code) String() string { return native.Nx_strerror(int(c)) }

// Sentinels for errors.Is, one per status. Two of them also stand for a
// group, as the PHP binding's exception classes do: ErrInvalidArgument
// matches every "the caller passed something unusable" status (bad UTF-8,
// too big, bad URL, unusable TLS options) and ErrConnection every failure
// of the connection itself (DNS, refused, unreachable, handshake, I/O,
// closed, TLS, certificate, timeout).
var (
	ErrInvalidArgument = errors.New("nexus: invalid argument")
	ErrNoMemory        = errors.New("nexus: out of memory")
	ErrState           = errors.New("nexus: not allowed in this state")
	ErrNoClient        = errors.New("nexus: no such client")
	ErrUTF8            = errors.New("nexus: text is not valid UTF-8")
	ErrClosing         = errors.New("nexus: the connection is closing")
	ErrQueueFull       = errors.New("nexus: send queue full")
	ErrTimeout         = errors.New("nexus: timed out")
	ErrBind            = errors.New("nexus: cannot bind the address")
	ErrURL             = errors.New("nexus: malformed URL")
	ErrDNS             = errors.New("nexus: host name does not resolve")
	ErrRefused         = errors.New("nexus: connection refused")
	ErrUnreachable     = errors.New("nexus: host unreachable")
	ErrHandshake       = errors.New("nexus: WebSocket handshake failed")
	ErrIO              = errors.New("nexus: connection broke")
	ErrClosed          = errors.New("nexus: connection closed")
	ErrTLS             = errors.New("nexus: TLS failed")
	ErrCert            = errors.New("nexus: certificate refused")
	ErrInternal        = errors.New("nexus: internal error")
	ErrTooBig          = errors.New("nexus: over the size limit")
	ErrTLSConfig       = errors.New("nexus: unusable TLS options")
	// ErrUnavailable: scaling (ServerOptions.Scaling) and the client is on
	// another server, but Redis cannot be reached now. The client may be
	// fine; try again later.
	ErrUnavailable = errors.New("nexus: the client is on another server and Redis is out of reach")

	ErrConnection = errors.New("nexus: connection failed")
)

// kinds is the one table from a status to what errors.Is matches.
var kinds = map[Code][]error{
	CodeInvalidArgument: {ErrInvalidArgument},
	CodeNoMemory:        {ErrNoMemory},
	CodeState:           {ErrState},
	CodeNoClient:        {ErrNoClient},
	CodeUTF8:            {ErrUTF8, ErrInvalidArgument},
	CodeClosing:         {ErrClosing},
	CodeQueueFull:       {ErrQueueFull},
	CodeTimeout:         {ErrTimeout, ErrConnection},
	CodeBind:            {ErrBind},
	CodeURL:             {ErrURL, ErrInvalidArgument},
	CodeDNS:             {ErrDNS, ErrConnection},
	CodeRefused:         {ErrRefused, ErrConnection},
	CodeUnreachable:     {ErrUnreachable, ErrConnection},
	CodeHandshake:       {ErrHandshake, ErrConnection},
	CodeIO:              {ErrIO, ErrConnection},
	CodeClosed:          {ErrClosed, ErrConnection},
	CodeTLS:             {ErrTLS, ErrConnection},
	CodeCert:            {ErrCert, ErrConnection},
	CodeInternal:        {ErrInternal},
	CodeTooBig:          {ErrTooBig, ErrInvalidArgument},
	CodeTLSConfig:       {ErrTLSConfig, ErrInvalidArgument},
	CodeUnavailable:     {ErrUnavailable},
}

// Error is a failed call: which operation, the status, and the library's
// detail ("no client with id 7", "connection refused by 127.0.0.1:9").
type Error struct {
	Op     string // the method that failed, "send", "connect", ...
	Code   Code
	Detail string
	// HTTPStatus is the status of a refused WebSocket handshake (Dial with
	// CodeHandshake), 0 otherwise.
	HTTPStatus int
}

func (e *Error) Error() string {
	detail := e.Detail
	if detail == "" {
		detail = e.Code.String()
	}
	return "nexus: " + e.Op + ": " + detail
}

// Is makes errors.Is(err, ErrTimeout) and the group sentinels work.
func (e *Error) Is(target error) bool {
	for _, kind := range kinds[e.Code] {
		if kind == target {
			return true
		}
	}
	return false
}

// Timeout reports whether the operation timed out (as net.Error does).
func (e *Error) Timeout() bool { return e.Code == CodeTimeout }

// CloseError is how a WebSocket connection ended: the close code (1005:
// none was given, 1006: the transport ended without a close frame) and
// reason. errors.Is(err, ErrClosed) holds for it.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return "nexus: connection closed with " + strconv.Itoa(e.Code)
	}
	return "nexus: connection closed with " + strconv.Itoa(e.Code) + ": " + e.Reason
}

// Is matches ErrClosed.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

// The generated layer keeps a failed call's status and detail per OS
// thread (bindings/nexus_socket.i). A goroutine may move to another thread
// between two calls, so each call below is pinned to its thread until the
// status has been read: the pin costs a few nanoseconds and needs no
// change to the C API, whose handles keep their own detail.

// check runs f, a generated call returning a status or a count, and turns
// a negative result into an *Error.
func check(op string, f func() int) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := f()
	if rc >= 0 {
		return rc, nil
	}
	return rc, takeError(op, rc)
}

// value runs f, a generated call returning a value with no status of its
// own (bytes, a handle), and reports the failure the call recorded.
func value[T any](op string, f func() T) (T, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	v := f()
	if status := native.Take_status(); status < 0 {
		return v, &Error{Op: op, Code: Code(status), Detail: native.Take_detail()}
	}
	return v, nil
}

// takeError builds the error of a call that returned rc < 0. Calls that
// record nothing (wake, stop) leave the static text.
func takeError(op string, rc int) error {
	e := &Error{Op: op, Code: Code(rc)}
	if status := native.Take_status(); status == rc {
		e.Detail = native.Take_detail()
	}
	return e
}

// errClosedHandle is what every method of a closed object returns.
func errClosedHandle(op string) error {
	return &Error{Op: op, Code: CodeState, Detail: "the object is closed"}
}
