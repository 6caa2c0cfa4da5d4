package nexus

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// bound is how long a test waits for any one event before failing.
const bound = 10 * time.Second

// testServer is a started server listening on a goroutine of its own.
type testServer struct {
	*Server
	url    string
	cancel context.CancelFunc
	done   chan error // Listen's result
}

// startServer makes a server on 127.0.0.1 with a free port, lets setup set
// handlers, and runs Listen until the test ends.
func startServer(t *testing.T, options ServerOptions, setup func(*Server)) *testServer {
	t.Helper()
	options.Addr = "127.0.0.1:0"
	if options.CloseTimeout == 0 {
		options.CloseTimeout = 2 * time.Second
	}
	srv, err := NewServer(options)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if setup != nil {
		setup(srv)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	port, err := srv.Port()
	if err != nil || port <= 0 {
		t.Fatalf("Port: %d, %v", port, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: srv, url: "ws://127.0.0.1:" + strconv.Itoa(port), cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Listen(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(bound):
			t.Errorf("Listen did not return after the context ended")
		}
		srv.Close()
	})
	return ts
}

// dial connects a client of ours, closed when the test ends.
func dial(t *testing.T, url string, opts *DialOptions) *WebSocketClient {
	t.Helper()
	c, err := Dial(url, opts)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// receive waits (bounded) for the next message.
func receive(t *testing.T, c *WebSocketClient) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	m, err := c.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return m
}

// await takes the next value from ch or fails after the bound.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(bound):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func wantCode(t *testing.T, err error, sentinels ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", sentinels)
	}
	for _, s := range sentinels {
		if !errors.Is(err, s) {
			t.Errorf("errors.Is(%v, %v) = false", err, s)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
