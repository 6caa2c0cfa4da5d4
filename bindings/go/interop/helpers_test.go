package interop

import (
	"context"
	"strconv"
	"testing"
	"time"

	"nexus-socket/nexus"
)

// bound is how long a test waits for any one event before failing.
const bound = 10 * time.Second

type testServer struct {
	*nexus.Server
	url string
}

// startServer runs an echo-capable server on 127.0.0.1 with a free port
// until the test ends.
func startServer(t *testing.T, options nexus.ServerOptions, setup func(*nexus.Server)) *testServer {
	t.Helper()
	options.Addr = "127.0.0.1:0"
	options.CloseTimeout = 2 * time.Second
	srv, err := nexus.NewServer(options)
	if err != nil {
		t.Fatal(err)
	}
	setup(srv)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	port, err := srv.Port()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Listen(ctx) }()
	t.Cleanup(func() {
		cancel()
		await(t, done, "Listen to return")
		srv.Close()
	})
	return &testServer{Server: srv, url: "ws://127.0.0.1:" + strconv.Itoa(port)}
}

func echo(s *nexus.Server) {
	s.OnMessage(func(c *nexus.Client, m nexus.Message) {
		if err := c.SendMessage(m); err != nil {
			panic(err)
		}
	})
}

func dial(t *testing.T, url string, opts *nexus.DialOptions) *nexus.WebSocketClient {
	t.Helper()
	c, err := nexus.Dial(url, opts)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func receive(t *testing.T, c *nexus.WebSocketClient) nexus.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	m, err := c.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return m
}

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
