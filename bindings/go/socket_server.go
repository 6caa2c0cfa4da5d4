package nexus

import (
	"runtime"
	"sync"
	"time"

	"nexus-socket/nexus/internal/native"
)

// SocketServer is a listening TCP or TLS server (a UDP server is a UDP
// Socket with Bind). Set options, Listen, then Accept.
type SocketServer struct {
	mu      sync.Mutex
	native  native.NxSocketServer // nil once closed
	typ     SocketType
	accept  *waiter
	cleanup runtime.Cleanup
}

// NewSocketServer makes a server of type TCP or TLS.
func NewSocketServer(t SocketType) (*SocketServer, error) {
	n, err := value("new socket server", func() native.NxSocketServer { return native.NewNxSocketServer(int(t)) })
	if err != nil {
		return nil, err
	}
	s := &SocketServer{native: n, typ: t, accept: &waiter{}}
	s.cleanup = runtime.AddCleanup(s, func(r serverRes) {
		native.DeleteNxSocketServer(r.native)
		r.accept.shutdown()
	}, serverRes{n, s.accept})
	return s, nil
}

// ListenSocket makes a server of type t listening on host:port.
func ListenSocket(t SocketType, host string, port int) (*SocketServer, error) {
	s, err := NewSocketServer(t)
	if err != nil {
		return nil, err
	}
	if err := s.Listen(host, port); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *SocketServer) do(op string, f func(native.NxSocketServer) int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return 0, errClosedHandle(op)
	}
	return check(op, func() int { return f(s.native) })
}

// SetOption sets an option before Listen: Socket's TLS options (a TLS
// server needs local_cert and local_pk), backlog, handshake_timeout
// (seconds), timeout (seconds: the default of accepted sockets),
// tcp_nodelay, keepalive, and "sni:HOST" = "CERT,KEY[,PASSPHRASE]".
func (s *SocketServer) SetOption(name, value string) error {
	_, err := s.do("set option", func(n native.NxSocketServer) int { return n.Set_option(name, value) })
	return err
}

// Listen binds and listens on host:port (port 0 picks one; "::" takes
// IPv6 and IPv4). ErrBind, ErrDNS, ErrTLS.
func (s *SocketServer) Listen(host string, port int) error {
	_, err := s.do("listen", func(n native.NxSocketServer) int { return n.Listen(host, port) })
	return err
}

// Port is the bound port.
func (s *SocketServer) Port() (int, error) {
	return s.do("port", func(n native.NxSocketServer) int { return n.Port() })
}

// Accept waits at most timeout (negative: without limit) for a
// connection and, with TLS, its handshake (bounded by the
// handshake_timeout option). It returns the connected socket and its peer
// "ip:port"; ErrTimeout when none came; ErrTLS or ErrCert when a client
// failed its handshake (the server stays usable); ErrState after Close,
// which also ends an Accept in progress.
func (s *SocketServer) Accept(timeout time.Duration) (*Socket, string, error) {
	s.accept.begin()
	defer s.accept.end()
	deadline := time.Now().Add(timeout)
	for {
		sock, peer, err := s.tryAccept()
		if sock != nil || err != nil {
			return sock, peer, err
		}
		wait := -1
		if timeout >= 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return nil, "", &Error{Op: "accept", Code: CodeTimeout, Detail: "no connection within " + timeout.String()}
			}
			wait = int(left/time.Millisecond) + 1
		}
		fd, err := s.do("accept", func(n native.NxSocketServer) int { return n.Fd() })
		if err != nil {
			return nil, "", err
		}
		if err := s.accept.wait(fd, wait); err != nil {
			return nil, "", &Error{Op: "accept", Code: CodeIO, Detail: err.Error()}
		}
	}
}

// tryAccept takes a waiting connection, if any, without waiting for one.
func (s *SocketServer) tryAccept() (*Socket, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return nil, "", errClosedHandle("accept")
	}
	n, err := value("accept", func() native.NxSocket { return s.native.Accept(0) })
	if err != nil || n.Swigcptr() == 0 {
		return nil, "", err
	}
	// The socket's type says how it speaks; accepted TLS sockets speak TLS.
	return newSocket(n, s.typ), s.native.Last_peer(), nil
}

// Close stops listening and releases the server; an Accept in progress
// returns ErrState. Later calls do nothing.
func (s *SocketServer) Close() error {
	s.mu.Lock()
	if s.native != nil {
		s.cleanup.Stop()
		native.DeleteNxSocketServer(s.native)
		s.native = nil
	}
	s.mu.Unlock()
	s.accept.shutdown()
	return nil
}

// serverRes is what the safety net releases (nothing that refers back).
type serverRes struct {
	native native.NxSocketServer
	accept *waiter
}
