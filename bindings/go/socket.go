package nexus

import (
	"io"
	"runtime"
	"strconv"
	"sync"
	"time"

	"nexus-socket/nexus/internal/native"
)

// SocketType is the kind of a plain socket.
type SocketType int

// The socket types (enum nx_socket_type).
const (
	TCP SocketType = 1
	UDP SocketType = 2
	TLS SocketType = 3 // TLS right after connect, TLS 1.2 at least
)

// defaultSocketTimeout is the C API's default of every socket call.
const defaultSocketTimeout = 30 * time.Second

// Socket is a TCP, TLS or UDP socket driven by the calling goroutine. Every
// call returns within the socket's timeout (SetTimeout, 30 s unless set).
// It is an io.ReadWriteCloser: Read may run in one goroutine while others
// write. Errors match ErrConnection (ErrTimeout, ErrRefused, ErrTLS,
// ErrCert, ...), ErrInvalidArgument, ErrState.
type Socket struct {
	mu      sync.Mutex
	native  native.NxSocket // nil once closed
	typ     SocketType
	timeout time.Duration
	recv    *waiter
	cleanup runtime.Cleanup
}

// NewSocket makes an unconnected socket.
func NewSocket(t SocketType) (*Socket, error) {
	n, err := value("new socket", func() native.NxSocket { return native.NewNxSocket(int(t)) })
	if err != nil {
		return nil, err
	}
	return newSocket(n, t), nil
}

func newSocket(n native.NxSocket, t SocketType) *Socket {
	s := &Socket{native: n, typ: t, timeout: defaultSocketTimeout, recv: &waiter{}}
	s.cleanup = runtime.AddCleanup(s, func(r socketRes) {
		native.DeleteNxSocket(r.native)
		r.recv.shutdown()
	}, socketRes{n, s.recv})
	return s
}

// DialSocket makes a socket of type t and connects it to host:port.
func DialSocket(t SocketType, host string, port int) (*Socket, error) {
	s, err := NewSocket(t)
	if err != nil {
		return nil, err
	}
	if err := s.Connect(host, port); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Type is the socket's type.
func (s *Socket) Type() SocketType { return s.typ }

// do runs f with the native socket under the mutex.
func (s *Socket) do(op string, f func(native.NxSocket) int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return 0, errClosedHandle(op)
	}
	return check(op, func() int { return f(s.native) })
}

// bytesOp runs f, a call returning bytes, under the mutex.
func (s *Socket) bytesOp(op string, f func(native.NxSocket) []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return nil, errClosedHandle(op)
	}
	return value(op, func() []byte { return f(s.native) })
}

// SetOption sets an option from text. TLS options have the names and
// meanings of PHP's ssl stream context (verify_peer, verify_peer_name,
// allow_self_signed, cafile, capath, peer_name, SNI_enabled, local_cert,
// local_pk, passphrase, ciphers); socket options: timeout (seconds),
// tcp_nodelay, keepalive, rcvbuf, sndbuf, broadcast (UDP).
func (s *Socket) SetOption(name, value string) error {
	_, err := s.do("set option", func(n native.NxSocket) int { return n.Set_option(name, value) })
	if err == nil && name == "timeout" {
		if secs, perr := strconv.ParseFloat(value, 64); perr == nil {
			s.mu.Lock()
			s.timeout = time.Duration(secs * float64(time.Second))
			s.mu.Unlock()
		}
	}
	return err
}

// SetTimeout sets the bound of every later call (the "timeout" option).
func (s *Socket) SetTimeout(d time.Duration) error {
	return s.SetOption("timeout", strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
}

// Connect connects (TCP, TLS: then the handshake and the certificate
// check) or, for UDP, sets the peer of Write and Read.
func (s *Socket) Connect(host string, port int) error {
	_, err := s.do("connect", func(n native.NxSocket) int { return n.Connect(host, port, -1) })
	return err
}

// IsConnected reports whether the socket is connected and the peer has not
// ended the stream (UDP: bound or connected).
func (s *Socket) IsConnected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.native != nil && s.native.Is_connected()
}

// Write writes all of p, waiting while the peer does not take it, within
// the timeout; n < len(p) comes with an error (ErrTimeout: what went, went).
// UDP: one datagram to the connected peer.
func (s *Socket) Write(p []byte) (int, error) { return s.write(view(p)) }

// WriteString is Write for a string.
func (s *Socket) WriteString(text string) (int, error) { return s.write(text) }

func (s *Socket) write(data string) (int, error) {
	n, err := s.do("write", func(n native.NxSocket) int { return n.Send(data, -1) })
	if err != nil {
		return 0, err
	}
	if n < len(data) {
		return n, &Error{Op: "write", Code: CodeTimeout,
			Detail: "the peer took " + strconv.Itoa(n) + " of " + strconv.Itoa(len(data)) + " bytes in time"}
	}
	return n, nil
}

// Read reads what arrived first, at most len(p) bytes, waiting up to the
// timeout; io.EOF at the end of the stream. UDP: one datagram, truncated.
// The wait does not hold the socket, so writes go on meanwhile.
func (s *Socket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	data, err := s.Receive(len(p))
	return copy(p, data), err
}

// Receive is Read returning a new slice of at most max bytes.
func (s *Socket) Receive(max int) ([]byte, error) {
	s.recv.begin()
	defer s.recv.end()
	s.mu.Lock()
	deadline := time.Now().Add(s.timeout)
	s.mu.Unlock()
	for {
		// With TLS, bytes may wait decrypted where the descriptor does not
		// show them: try without waiting first.
		data, err := s.bytesOp("read", func(n native.NxSocket) []byte { return n.Receive(max, 0) })
		switch {
		case err == nil && len(data) == 0:
			return nil, io.EOF
		case err == nil:
			return data, nil
		case !errIsAny(err, ErrTimeout):
			return nil, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, err
		}
		fd, ferr := s.do("read", func(n native.NxSocket) int { return n.Fd() })
		if ferr != nil {
			return nil, ferr
		}
		if werr := s.recv.wait(fd, int(left/time.Millisecond)+1); werr != nil {
			return nil, &Error{Op: "read", Code: CodeIO, Detail: werr.Error()}
		}
	}
}

// ReadLine reads one line with its "\n" (at the end of the stream the
// unterminated rest), at most max bytes (ErrTooBig beyond); io.EOF once
// the stream has ended. TCP and TLS.
func (s *Socket) ReadLine(max int) ([]byte, error) {
	line, err := s.bytesOp("read line", func(n native.NxSocket) []byte { return n.Read_line(max, -1) })
	if err == nil && line == nil {
		return nil, io.EOF
	}
	return line, err
}

// ReadAll reads until the peer closes, at most max bytes (ErrTooBig
// beyond); the timeout bounds the whole call. TCP and TLS.
func (s *Socket) ReadAll(max int) ([]byte, error) {
	return s.bytesOp("read all", func(n native.NxSocket) []byte { return n.Read_all(max, -1) })
}

// StartTLS runs a TLS handshake over the connected TCP socket with the TLS
// options set on it: as the client (verifying the host given to Connect,
// or peer_name) or, with serverSide, as the server (needs local_cert).
func (s *Socket) StartTLS(serverSide bool) error {
	_, err := s.do("start tls", func(n native.NxSocket) int { return n.Start_tls(boolInt(serverSide), -1) })
	return err
}

// Bind binds a UDP socket to host:port (port 0 picks one).
func (s *Socket) Bind(host string, port int) error {
	_, err := s.do("bind", func(n native.NxSocket) int { return n.Bind(host, port) })
	return err
}

// SendTo sends one UDP datagram to host:port and returns its size.
func (s *Socket) SendTo(host string, port int, data []byte) (int, error) {
	return s.do("send to", func(n native.NxSocket) int { return n.Send_to(host, port, view(data), -1) })
}

// ReceiveFrom waits for the next UDP datagram (at most max bytes) and
// returns it with its sender "ip:port".
func (s *Socket) ReceiveFrom(max int) ([]byte, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return nil, "", errClosedHandle("receive from")
	}
	data, err := value("receive from", func() []byte { return s.native.Receive_from(max, -1) })
	if err != nil {
		return nil, "", err
	}
	return data, s.native.Last_sender(), nil
}

// PeerAddress is the peer's "ip:port" ("" when none).
func (s *Socket) PeerAddress() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return ""
	}
	return s.native.Peer_address()
}

// LocalAddress is this end's "ip:port" (UDP: the bound address).
func (s *Socket) LocalAddress() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return ""
	}
	return s.native.Local_address()
}

// Close closes the connection (TLS: close_notify, not awaited) and
// releases the socket; a Read in progress returns. Later calls do nothing.
func (s *Socket) Close() error {
	s.mu.Lock()
	if s.native != nil {
		s.cleanup.Stop()
		native.DeleteNxSocket(s.native)
		s.native = nil
	}
	s.mu.Unlock()
	s.recv.shutdown()
	return nil
}

// socketRes is what the safety net releases (nothing that refers back).
type socketRes struct {
	native native.NxSocket
	recv   *waiter
}
