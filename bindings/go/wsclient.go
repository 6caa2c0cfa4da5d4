package nexus

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"nexus-socket/nexus/internal/native"
)

// DialOptions configure a WebSocket client. Zero values keep the library's
// defaults.
type DialOptions struct {
	Timeout        time.Duration // DNS + TCP + handshake (10 s)
	Subprotocols   []string      // offered in this order
	Header         http.Header   // extra request headers
	Origin         string        // the Origin header; "" sends none
	Compression    bool          // offer permessage-deflate
	MaxMessageSize int64         // larger messages close with 1009 (16 MiB)
	// NoAutoPong stops the client from answering pings by itself.
	NoAutoPong bool
	// OnPing and OnPong, when set, are called from Receive with the
	// payload of a ping from the server and of a pong answering Ping.
	OnPing func(data []byte)
	OnPong func(data []byte)
	// TLS options for wss:// URLs by PHP's ssl context names: "cafile",
	// "verify_peer", "verify_peer_name", "allow_self_signed", "peer_name",
	// "local_cert", ... By default the certificate is checked against the
	// system's CAs and must name the host.
	TLS map[string]string
}

// WebSocketClient is a client connection (ws://). Receive from one
// goroutine; Send, Ping and Close may be called from any goroutine.
// Output the socket does not take at once goes out during later sends,
// Receive and Close.
type WebSocketClient struct {
	mu      sync.Mutex
	native  native.NxWsClient // nil once closed
	fd      int
	closed  *CloseError // how the connection ended, once it has
	recv    *waiter
	cleanup runtime.Cleanup
	onPing  func([]byte)
	onPong  func([]byte)
}

// Dial connects to url (ws:// or wss://host[:port][/path][?query]) and
// completes the handshake, blocking for at most opts.Timeout. Errors:
// ErrURL, ErrDNS, ErrRefused, ErrUnreachable, ErrTimeout, ErrTLS, ErrCert,
// ErrHandshake (*Error.HTTPStatus says how the server answered), ErrIO; all
// but ErrURL match ErrConnection. ErrTLSConfig and ErrInvalid for bad TLS
// options.
func Dial(url string, opts *DialOptions) (*WebSocketClient, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	o := native.NewNxWsClientOptions()
	defer native.DeleteNxWsClientOptions(o)
	if opts.Timeout > 0 {
		o.SetConnect_timeout_ms(millis(opts.Timeout))
	}
	if len(opts.Subprotocols) > 0 {
		o.SetSubprotocols(strings.Join(opts.Subprotocols, ","))
	}
	if len(opts.Header) > 0 {
		var b strings.Builder
		for name, values := range opts.Header {
			for _, v := range values {
				b.WriteString(name + ": " + v + "\r\n")
			}
		}
		o.SetHeaders(b.String())
	}
	if opts.Origin != "" {
		o.SetOrigin(opts.Origin)
	}
	o.SetPermessage_deflate(boolInt(opts.Compression))
	if opts.MaxMessageSize > 0 {
		o.SetMax_message_size(uint64(opts.MaxMessageSize))
	}
	o.SetAuto_pong(boolInt(!opts.NoAutoPong))

	n, err := value("dial", func() native.NxWsClient { return native.NewNxWsClient(o) })
	if err != nil {
		return nil, err
	}
	for name, v := range opts.TLS {
		if _, err := check("dial", func() int { return n.Set_tls_option(name, v) }); err != nil {
			native.DeleteNxWsClient(n)
			return nil, err
		}
	}
	if _, err := check("dial", func() int { return n.Connect(url) }); err != nil {
		if e, ok := err.(*Error); ok && e.Code == CodeHandshake {
			e.HTTPStatus = n.Http_status()
		}
		native.DeleteNxWsClient(n)
		return nil, err
	}
	fd, err := check("dial", n.Fd)
	if err != nil {
		native.DeleteNxWsClient(n)
		return nil, err
	}
	c := &WebSocketClient{native: n, fd: fd, recv: &waiter{}, onPing: opts.OnPing, onPong: opts.OnPong}
	c.cleanup = runtime.AddCleanup(c, func(r clientRes) {
		native.DeleteNxWsClient(r.native)
		r.recv.shutdown()
	}, clientRes{n, c.recv})
	return c, nil
}

// Subprotocol is the one the server chose ("" when none).
func (c *WebSocketClient) Subprotocol() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.native == nil {
		return ""
	}
	return c.native.Subprotocol()
}

// IsOpen reports whether the connection is open and not closing.
func (c *WebSocketClient) IsOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.native != nil && c.closed == nil && c.native.Is_open()
}

// Send sends a text message. ErrUTF8, ErrClosed, ErrIO.
func (c *WebSocketClient) Send(text string) error { return c.send(Text, text) }

// SendBinary sends a binary message.
func (c *WebSocketClient) SendBinary(data []byte) error { return c.send(Binary, view(data)) }

// SendMessage sends m.
func (c *WebSocketClient) SendMessage(m Message) error {
	if err := m.check("send"); err != nil {
		return err
	}
	return c.send(m.Type, view(m.Data))
}

func (c *WebSocketClient) send(t MessageType, data string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.native == nil {
		return errClosedHandle("send")
	}
	_, err := check("send", func() int { return c.native.Send(data, int(t)) })
	return err
}

// Ping sends a ping with at most 125 bytes of payload; the pong comes to
// OnPong during Receive.
func (c *WebSocketClient) Ping(data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.native == nil {
		return errClosedHandle("ping")
	}
	_, err := check("ping", func() int { return c.native.Ping(view(data)) })
	return err
}

// Receive waits for the next message until ctx ends (ctx.Err() then).
// After the connection has ended it returns a *CloseError (errors.Is
// ErrClosed) with the close code and reason.
func (c *WebSocketClient) Receive(ctx context.Context) (Message, error) {
	c.recv.begin()
	defer c.recv.end()
	stop := context.AfterFunc(ctx, c.recv.interrupt)
	defer stop()
	for {
		ev, err := c.poll()
		if err != nil {
			return Message{}, err
		}
		switch ev.kind {
		case eventMessage:
			return Message{Type: MessageType(ev.opcode), Data: ev.data}, nil
		case eventPing:
			if c.onPing != nil {
				c.onPing(ev.data)
			}
			continue
		case eventPong:
			if c.onPong != nil {
				c.onPong(ev.data)
			}
			continue
		case eventDisconnect:
			return Message{}, c.closed
		}
		if err := ctx.Err(); err != nil {
			return Message{}, err
		}
		timeout := -1
		if deadline, ok := ctx.Deadline(); ok {
			timeout = int(time.Until(deadline)/time.Millisecond) + 1
		}
		if err := c.recv.wait(c.fd, timeout); err != nil {
			return Message{}, &Error{Op: "receive", Code: CodeIO, Detail: err.Error()}
		}
	}
}

// poll takes the next event without waiting.
func (c *WebSocketClient) poll() (event, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed != nil {
		return event{}, c.closed
	}
	if c.native == nil {
		return event{}, errClosedHandle("receive")
	}
	kind, err := check("receive", func() int { return c.native.Poll(0) })
	if err != nil {
		return event{}, err
	}
	ev := event{kind: kind}
	if kind == eventNone {
		return ev, nil
	}
	ev.opcode = c.native.Event_opcode()
	ev.closeCode = c.native.Event_close_code()
	ev.data = c.native.Event_data()
	if kind == eventDisconnect {
		c.closed = &CloseError{Code: ev.closeCode, Reason: string(ev.data)}
	}
	return ev, nil
}

// Close closes with code 1000 (CloseWith).
func (c *WebSocketClient) Close() error { return c.CloseWith(1000, "") }

// CloseWith runs the close handshake with code and reason, waiting for
// the server's answer for at most 5 seconds, and releases the client. A
// Receive in progress returns. Later calls do nothing.
func (c *WebSocketClient) CloseWith(code int, reason string) error {
	err := c.closeNative(code, reason)
	c.recv.shutdown()
	return err
}

func (c *WebSocketClient) closeNative(code int, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.native == nil {
		return nil
	}
	var err error
	if c.closed == nil && c.native.Is_open() {
		_, err = check("close", func() int { return c.native.Close(code, reason) })
		deadline := time.Now().Add(5 * time.Second)
		for err == nil && c.closed == nil {
			left := int(time.Until(deadline) / time.Millisecond)
			if left <= 0 {
				break
			}
			kind, perr := check("close", func() int { return c.native.Poll(left) })
			if perr != nil {
				break // closed under us: nothing left to wait for
			}
			if kind == eventDisconnect {
				c.closed = &CloseError{Code: c.native.Event_close_code(), Reason: string(c.native.Event_data())}
			}
		}
	}
	if c.closed == nil {
		c.closed = &CloseError{Code: 1006, Reason: "closed"}
	}
	c.cleanup.Stop()
	native.DeleteNxWsClient(c.native)
	c.native = nil
	return err
}

// clientRes is what the safety net releases: nothing in it refers back to
// the client, or the client could never become unreachable.
type clientRes struct {
	native native.NxWsClient
	recv   *waiter
}
