package nexus

import (
	"context"
	"net"
	"runtime"
	"strconv"
	"sync"

	"nexus-socket/nexus/internal/native"
)

// ClientID identifies a client of a Server, unique for the server's life.
type ClientID uint64

// Server is a WebSocket server. Make it with NewServer, set handlers, then
// call Listen; every other method may be called from any goroutine, also
// from handlers. Close releases it.
//
// Threading: the C API lets one thread at a time use a server, in an order
// the host decides. Server keeps that rule with a mutex held for each
// native call and never across a handler or a wait, so handlers may call
// back into the server. Listen waits on the server's descriptor without
// the mutex and then polls without waiting: with one event loop (the
// default) the loop runs in those polls, on Listen's goroutine, which is
// locked to its OS thread (docs/go.md says why).
type Server struct {
	mu         sync.Mutex
	native     native.NxWsServer // nil once closed
	options    ServerOptions
	handshakes bool // native made with handshake_events
	started    bool
	listening  bool
	stopped    bool // STOPPED was delivered
	clients    map[ClientID]*Client
	requests   map[ClientID]*Client // handshakes accepted, awaiting their CONNECT
	done       chan struct{}        // closed when Listen returns
	cleanup    runtime.Cleanup

	handlers handlers
}

type handlers struct {
	mu           sync.Mutex
	onConnect    func(*Client)
	onMessage    func(*Client, Message)
	onDisconnect func(*Client, int, string)
	onError      func(*Client, error)
	onHandshake  func(*Client) error
}

// NewServer makes a server with options, checked now; nothing binds until
// Start or Listen.
func NewServer(options ServerOptions) (*Server, error) {
	s := &Server{options: options, clients: make(map[ClientID]*Client), requests: make(map[ClientID]*Client)}
	n, err := newNativeServer(&s.options, false)
	if err != nil {
		return nil, err
	}
	s.native = n
	s.cleanup = runtime.AddCleanup(s, native.DeleteNxWsServer, n)
	return s, nil
}

func newNativeServer(options *ServerOptions, handshakes bool) (native.NxWsServer, error) {
	o, err := options.toNative(handshakes)
	if err != nil {
		return nil, err
	}
	defer native.DeleteNxWsServerOptions(o)
	n, err := value("new server", func() native.NxWsServer { return native.NewNxWsServer(o) })
	if err != nil {
		return nil, err
	}
	return n, nil
}

// OnConnect sets the handler of a client that finished its handshake.
func (s *Server) OnConnect(f func(c *Client)) {
	s.handlers.mu.Lock()
	s.handlers.onConnect = f
	s.handlers.mu.Unlock()
}

// OnMessage sets the handler of a whole message (text or binary).
func (s *Server) OnMessage(f func(c *Client, m Message)) {
	s.handlers.mu.Lock()
	s.handlers.onMessage = f
	s.handlers.mu.Unlock()
}

// OnDisconnect sets the handler of a connection that ended, called once
// per connected client with the close code (1005: none given, 1006: no
// close frame) and reason. The client is no longer in Clients.
func (s *Server) OnDisconnect(f func(c *Client, code int, reason string)) {
	s.handlers.mu.Lock()
	s.handlers.onDisconnect = f
	s.handlers.mu.Unlock()
}

// OnError sets the handler of errors the library reports while running:
// c is the client or handshake request concerned (an accepted request
// that never became a client, over MaxClients), or nil for the server.
func (s *Server) OnError(f func(c *Client, err error)) {
	s.handlers.mu.Lock()
	s.handlers.onError = f
	s.handlers.mu.Unlock()
}

// OnHandshake sets the handler that decides on each upgrade request before
// the client is let in (authentication): return nil to accept, Reject(...)
// to answer with an HTTP error. Set it before Start; later it is refused.
func (s *Server) OnHandshake(f func(request *Client) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return &Error{Op: "on handshake", Code: CodeState, Detail: "the server has started: set the handshake handler before"}
	}
	s.handlers.mu.Lock()
	s.handlers.onHandshake = f
	s.handlers.mu.Unlock()
	return nil
}

// RejectError is a handshake handler's refusal: the HTTP status (400..599)
// and body the request is answered with.
type RejectError struct {
	Status int
	Body   string
}

func (e *RejectError) Error() string {
	return "nexus: handshake rejected with HTTP " + strconv.Itoa(e.Status)
}

// Reject is the error a handshake handler returns to refuse a request.
func Reject(status int, body string) error { return &RejectError{Status: status, Body: body} }

// Start binds and listens, so that Port is known before Listen. Listen
// calls it when needed; a second call does nothing.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return errClosedHandle("start")
	}
	if s.started {
		return nil
	}
	s.handlers.mu.Lock()
	wantHandshakes := s.handlers.onHandshake != nil
	s.handlers.mu.Unlock()
	if wantHandshakes && !s.handshakes {
		// handshake_events is fixed when the native server is made.
		n, err := newNativeServer(&s.options, true)
		if err != nil {
			return err
		}
		s.cleanup.Stop()
		native.DeleteNxWsServer(s.native)
		s.native, s.handshakes = n, true
		s.cleanup = runtime.AddCleanup(s, native.DeleteNxWsServer, n)
	}
	for name, v := range s.options.TLS {
		if _, err := check("start", func() int { return s.native.Set_tls_option(name, v) }); err != nil {
			return err
		}
	}
	if _, err := check("start", s.native.Start); err != nil {
		return err
	}
	s.started = true
	return nil
}

// Port is the bound port (the real one when Addr asked for port 0), or an
// error before Start.
func (s *Server) Port() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return 0, errClosedHandle("port")
	}
	return check("port", s.native.Port)
}

// Addr is "host:port" with the bound port after Start (the configured one
// before), e.g. for a "listening on ws://..." line.
func (s *Server) Addr() string {
	host, port, _ := splitAddr(s.options.Addr)
	if host == "" {
		host = "0.0.0.0"
	}
	if port < 0 {
		port = 8080
	}
	if bound, err := s.Port(); err == nil {
		port = bound
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Listen runs the server until ctx ends or Stop is called, handling events
// with the handlers on the calling goroutine. Either way the stop is
// graceful: every client gets close 1001 after its queued messages (for at
// most CloseTimeout) and its OnDisconnect. It returns nil after Stop,
// ctx.Err() when the context ended, or what kept the server from running.
func (s *Server) Listen(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	// With one loop, the library tells the loop's thread by its identity:
	// a send made on the thread that last polled is queued at once, one
	// made elsewhere is posted to the loop. A goroutine moving between
	// threads could see its sends take both ways and overtake each other.
	// Pinned here, the loop's thread runs only this goroutine: handlers'
	// sends are direct, every other goroutine's are posted, in order.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s.mu.Lock()
	if s.listening || s.stopped {
		s.mu.Unlock()
		return &Error{Op: "listen", Code: CodeState, Detail: "the server is listening already, or has stopped"}
	}
	s.listening = true
	s.done = make(chan struct{})
	fd, err := check("listen", s.native.Fd)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.listening = false
		close(s.done)
		s.mu.Unlock()
	}()
	if err != nil {
		return err
	}
	stopOnDone := context.AfterFunc(ctx, s.Stop)
	defer stopOnDone()

	for {
		ev, err := s.poll()
		if err != nil {
			return err
		}
		switch ev.kind {
		case eventNone:
			// Readable when the loop has work: sockets, timers, posted
			// sends, Wake. Stop wakes it too.
			if _, err := native.WaitReadable(fd, -1, -1); err != nil {
				return &Error{Op: "listen", Code: CodeIO, Detail: "waiting for the server: " + err.Error()}
			}
		case eventStopped:
			return ctx.Err()
		default:
			s.dispatch(ev)
		}
	}
}

// Stop starts a graceful stop; Listen returns once it has finished. Any
// goroutine, any number of times.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native != nil {
		s.native.Stop()
		s.native.Wake()
	}
}

// Close stops the server, waits for Listen to return, and releases it.
// Later calls do nothing; other methods then return ErrState. Not from a
// handler: it would wait for the Listen that runs the handler.
func (s *Server) Close() error {
	s.Stop()
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native != nil {
		s.cleanup.Stop()
		native.DeleteNxWsServer(s.native) // flushes for at most CloseTimeout
		s.native = nil
	}
	return nil
}
