package nexus

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"reflect"
	"sort"
	"testing"
	"time"
)

func echo(s *Server) {
	s.OnMessage(func(c *Client, m Message) {
		if err := c.SendMessage(m); err != nil {
			panic(err)
		}
	})
}

func TestEchoTextAndBinary(t *testing.T) {
	ts := startServer(t, ServerOptions{}, echo)
	c := dial(t, ts.url, nil)

	if err := c.Send("héllo"); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); m.Type != Text || m.Text() != "héllo" || !m.IsText() {
		t.Fatalf("got %v %q", m.Type, m.Data)
	}
	payload := []byte{0, 1, 2, 0xff, 0}
	if err := c.SendBinary(payload); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); m.Type != Binary || !bytes.Equal(m.Data, payload) {
		t.Fatalf("got %v %v", m.Type, m.Data)
	}
	if err := c.SendMessage(TextMessage("")); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); m.Type != Text || len(m.Data) != 0 {
		t.Fatalf("empty text came back as %v %q", m.Type, m.Data)
	}
	big := bytes.Repeat([]byte("0123456789"), 50000)
	if err := c.SendMessage(BinaryMessage(big)); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); !bytes.Equal(m.Data, big) {
		t.Fatalf("500 kB echo: got %d bytes", len(m.Data))
	}
}

func TestConnectAndDisconnectHandlers(t *testing.T) {
	connected := make(chan *Client, 1)
	left := make(chan [2]any, 1)
	ts := startServer(t, ServerOptions{}, func(s *Server) {
		s.OnConnect(func(c *Client) { connected <- c })
		s.OnDisconnect(func(c *Client, code int, reason string) {
			ids, _ := s.Clients()
			for _, id := range ids {
				if id == c.ID {
					t.Errorf("client %d still listed during OnDisconnect", id)
				}
			}
			left <- [2]any{c, code}
			_ = reason
		})
	})
	header := http.Header{"X-Token": {"secret"}}
	c := dial(t, ts.url+"/room/1?user=ann&x=1", &DialOptions{Header: header, Origin: "http://example.test"})

	info := await(t, connected, "OnConnect")
	if info.Path != "/room/1" || info.Query().Get("user") != "ann" || info.RawQuery != "user=ann&x=1" {
		t.Errorf("path %q query %q", info.Path, info.RawQuery)
	}
	if info.Header.Get("X-Token") != "secret" || info.Origin != "http://example.test" {
		t.Errorf("header %v origin %q", info.Header, info.Origin)
	}
	if info.Peer == "" || info.ConnectedAt.IsZero() || time.Since(info.ConnectedAt) > time.Minute {
		t.Errorf("peer %q connected at %v", info.Peer, info.ConnectedAt)
	}
	ids, err := ts.Clients()
	if err != nil || !reflect.DeepEqual(ids, []ClientID{info.ID}) {
		t.Errorf("Clients() = %v, %v; want [%d]", ids, err, info.ID)
	}
	if n := ts.ClientCount(); n != 1 {
		t.Errorf("ClientCount() = %d", n)
	}
	same, err := ts.Client(info.ID)
	if err != nil || same != info {
		t.Errorf("Client(id) = %p, %v; want the handlers' %p", same, err, info)
	}

	if err := c.CloseWith(4000, "bye"); err != nil {
		t.Fatal(err)
	}
	got := await(t, left, "OnDisconnect")
	if got[0].(*Client) != info || got[1].(int) != 4000 {
		t.Errorf("OnDisconnect(%v, %v)", got[0], got[1])
	}
	if _, err := ts.Client(info.ID); !errors.Is(err, ErrNoClient) {
		t.Errorf("Client(gone) error %v, want ErrNoClient", err)
	}
}

func TestBroadcastWithExclusion(t *testing.T) {
	connected := make(chan *Client, 4)
	ts := startServer(t, ServerOptions{}, func(s *Server) {
		s.OnConnect(func(c *Client) { connected <- c })
	})
	var clients []*WebSocketClient
	var ids []ClientID
	for i := 0; i < 4; i++ {
		clients = append(clients, dial(t, ts.url, nil))
		ids = append(ids, await(t, connected, "OnConnect").ID)
	}
	n, err := ts.Broadcast("all but 0", ids[0])
	if err != nil || n != 3 {
		t.Fatalf("Broadcast except one = %d, %v; want 3", n, err)
	}
	n, err = ts.BroadcastBinary([]byte{7}, ids[1], ids[2])
	if err != nil || n != 2 {
		t.Fatalf("BroadcastBinary except two = %d, %v; want 2", n, err)
	}
	n, err = ts.BroadcastMessage(TextMessage("everyone"))
	if err != nil || n != 4 {
		t.Fatalf("BroadcastMessage = %d, %v; want 4", n, err)
	}
	want := [][]string{
		{"\x07", "everyone"},
		{"all but 0", "everyone"},
		{"all but 0", "everyone"},
		{"all but 0", "\x07", "everyone"},
	}
	for i, c := range clients {
		for _, w := range want[i] {
			if m := receive(t, c); m.Text() != w {
				t.Errorf("client %d got %q, want %q", i, m.Text(), w)
			}
		}
	}
}

func TestChannelsAndUserData(t *testing.T) {
	connected := make(chan *Client, 2)
	ts := startServer(t, ServerOptions{}, func(s *Server) {
		s.OnConnect(func(c *Client) { connected <- c })
	})
	a, b := dial(t, ts.url, nil), dial(t, ts.url, nil)
	ca, cb := await(t, connected, "a"), await(t, connected, "b")

	for _, ch := range []string{"news", "sport"} {
		if err := ca.Subscribe(ch); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.Subscribe(cb.ID, "news"); err != nil {
		t.Fatal(err)
	}
	chans, err := ca.Channels()
	sort.Strings(chans)
	if err != nil || !reflect.DeepEqual(chans, []string{"news", "sport"}) {
		t.Errorf("Channels() = %v, %v", chans, err)
	}
	if n, err := ts.Publish("news", "headline"); err != nil || n != 2 {
		t.Fatalf("Publish = %d, %v; want 2", n, err)
	}
	if err := ts.Unsubscribe(cb.ID, "news"); err != nil {
		t.Fatal(err)
	}
	if n, err := ts.PublishBinary("news", []byte("x")); err != nil || n != 1 {
		t.Fatalf("PublishBinary after unsubscribe = %d, %v; want 1", n, err)
	}
	if n, err := ts.PublishMessage("nobody", TextMessage("y")); err != nil || n != 0 {
		t.Fatalf("PublishMessage to an empty channel = %d, %v", n, err)
	}
	if m := receive(t, a); m.Text() != "headline" {
		t.Errorf("a got %q", m.Text())
	}
	if m := receive(t, a); m.Type != Binary || m.Text() != "x" {
		t.Errorf("a got %v %q", m.Type, m.Text())
	}
	if m := receive(t, b); m.Text() != "headline" {
		t.Errorf("b got %q", m.Text())
	}
	wantCode(t, ts.Subscribe(ca.ID, "bad\nname"), ErrInvalidArgument)

	if err := ca.SetUserData([]byte("name=ann\x00")); err != nil {
		t.Fatal(err)
	}
	if d, err := ca.UserData(); err != nil || string(d) != "name=ann\x00" {
		t.Errorf("UserData() = %q, %v", d, err)
	}
	wantCode(t, ca.SetUserData(make([]byte, 65*1024)), ErrTooBig, ErrInvalidArgument)
}

func TestServerDisconnectsClient(t *testing.T) {
	connected := make(chan *Client, 1)
	ts := startServer(t, ServerOptions{}, func(s *Server) {
		s.OnConnect(func(c *Client) { connected <- c })
	})
	c := dial(t, ts.url, nil)
	info := await(t, connected, "OnConnect")
	if err := info.Disconnect(4001, "kicked"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ts.Send(info.ID, "too late"), ErrClosing)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	_, err := c.Receive(ctx)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "kicked" || !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive after a kick: %v", err)
	}
	if c.IsOpen() {
		t.Error("IsOpen() after the close")
	}
	wantCode(t, ts.Disconnect(info.ID, 999, ""), ErrInvalidArgument)
}

func TestErrorsAreValues(t *testing.T) {
	connected := make(chan *Client, 1)
	ts := startServer(t, ServerOptions{}, func(s *Server) {
		s.OnConnect(func(c *Client) { connected <- c })
	})
	dial(t, ts.url, nil)
	info := await(t, connected, "OnConnect")

	err := ts.Send(987654, "x")
	wantCode(t, err, ErrNoClient)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNoClient || e.Op != "send" || e.Detail == "" {
		t.Errorf("error %#v", err)
	}
	if errors.Is(err, ErrTimeout) || errors.Is(err, ErrConnection) {
		t.Errorf("%v matches kinds it is not", err)
	}
	wantCode(t, ts.Send(info.ID, "\xff\xfe"), ErrUTF8, ErrInvalidArgument)
	wantCode(t, ts.SendMessage(info.ID, Message{Type: 9}), ErrInvalidArgument)

	_, err = Dial("ws://127.0.0.1:1/", &DialOptions{Timeout: 2 * time.Second})
	wantCode(t, err, ErrRefused, ErrConnection)
	_, err = Dial("http://nowhere", nil)
	wantCode(t, err, ErrURL, ErrInvalidArgument)

	_, err = NewServer(ServerOptions{Addr: "127.0.0.1:http"})
	wantCode(t, err, ErrInvalidArgument)
	_, err = NewServer(ServerOptions{Compression: true, Deflate: &DeflateOptions{ServerMaxWindowBits: 30}})
	wantCode(t, err, ErrInvalidArgument)

	port, _ := ts.Port()
	busy, err := NewServer(ServerOptions{Addr: "127.0.0.1:" + itoa(port)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	wantCode(t, busy.Start(), ErrBind)

	idle, err := NewServer(ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, idle.Send(1, "before start"), ErrState)
	_, err = idle.Port()
	wantCode(t, err, ErrState)
	idle.Close()
	idle.Close() // idempotent
	wantCode(t, idle.Start(), ErrState)
	_, err = idle.Stats()
	wantCode(t, err, ErrState)
	if Code(-8).String() == "" || CodeTimeout != -8 {
		t.Error("codes")
	}
}

func TestStats(t *testing.T) {
	ts := startServer(t, ServerOptions{}, echo)
	c := dial(t, ts.url, nil)
	for i := 0; i < 5; i++ {
		if err := c.Send("12345"); err != nil {
			t.Fatal(err)
		}
		receive(t, c)
	}
	st, err := ts.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Clients != 1 || st.ConnectionsTotal != 1 || st.MessagesIn != 5 || st.MessagesOut != 5 ||
		st.BytesIn != 25 || st.BytesOut != 25 {
		t.Errorf("stats %+v", st)
	}
}

func TestHandshakeHandler(t *testing.T) {
	ts := startServer(t, ServerOptions{}, func(s *Server) {
		err := s.OnHandshake(func(r *Client) error {
			if r.Header.Get("Authorization") != "Bearer ok" {
				return Reject(401, "who are you?")
			}
			if r.Path == "/boom" {
				return errors.New("handler failed")
			}
			// Kept with the request, the client's from its connect on.
			return r.SetUserData([]byte("token ok"))
		})
		if err != nil {
			t.Fatal(err)
		}
		echo(s)
	})
	wantCode(t, ts.OnHandshake(nil), ErrState)

	_, err := Dial(ts.url, nil)
	wantCode(t, err, ErrHandshake, ErrConnection)
	var e *Error
	if !errors.As(err, &e) || e.HTTPStatus != 401 {
		t.Errorf("refused handshake: %#v", err)
	}
	auth := http.Header{"Authorization": {"Bearer ok"}}
	_, err = Dial(ts.url+"/boom", &DialOptions{Header: auth})
	if !errors.As(err, &e) || e.HTTPStatus != 500 {
		t.Errorf("handler error: %#v, want HTTP 500", err)
	}
	c := dial(t, ts.url, &DialOptions{Header: auth})
	if err := c.Send("in"); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); m.Text() != "in" {
		t.Errorf("got %q", m.Text())
	}
	if ids, err := ts.Clients(); err != nil || len(ids) != 1 {
		t.Fatalf("Clients() = %v, %v", ids, err)
	} else if data, err := ts.UserData(ids[0]); err != nil || string(data) != "token ok" {
		t.Errorf("user data set while deciding: %q, %v", data, err)
	}
	if st, _ := ts.Stats(); st.HandshakesRejected != 2 {
		t.Errorf("HandshakesRejected = %d, want 2", st.HandshakesRejected)
	}
}

func TestListenEndsWithContextAndStop(t *testing.T) {
	srv, err := NewServer(ServerOptions{Addr: "127.0.0.1:0", CloseTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	left := make(chan int, 1)
	srv.OnDisconnect(func(c *Client, code int, reason string) { left <- code })
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	port, _ := srv.Port()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Listen(ctx) }()
	c := dial(t, "ws://127.0.0.1:"+itoa(port), nil)
	// The client reads on, so it answers the server's close at once.
	received := make(chan error, 1)
	go func() {
		rctx, rcancel := context.WithTimeout(context.Background(), bound)
		defer rcancel()
		_, err := c.Receive(rctx)
		received <- err
	}()
	if err := c.Send("hi"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := await(t, done, "Listen to return"); !errors.Is(err, context.Canceled) {
		t.Errorf("Listen returned %v, want context.Canceled", err)
	}
	if code := await(t, left, "OnDisconnect"); code != 1001 {
		t.Errorf("close code %d on stop, want 1001", code)
	}
	var ce *CloseError
	if err := await(t, received, "the client's Receive"); !errors.As(err, &ce) || ce.Code != 1001 {
		t.Errorf("client after stop: %v, want a close with 1001", err)
	}
	if err := srv.Listen(context.Background()); !errors.Is(err, ErrState) {
		t.Errorf("Listen after stop: %v", err)
	}

	// Stop from another goroutine: Listen returns nil.
	other, err := NewServer(ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- other.Listen(context.Background()) }()
	other.Stop()
	if err := await(t, done, "Listen after Stop"); err != nil {
		t.Errorf("Listen after Stop returned %v", err)
	}
}

func TestCloseWhileListening(t *testing.T) {
	srv, err := NewServer(ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	done := make(chan error, 1)
	srv.OnConnect(func(*Client) {})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { close(started); done <- srv.Listen(context.Background()) }()
	<-started
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	await(t, done, "Listen to return after Close")
	wantCode(t, srv.Send(1, "x"), ErrState)
}

func TestPingPongAndSubprotocol(t *testing.T) {
	ts := startServer(t, ServerOptions{Subprotocols: []string{"chat.v2", "chat.v1"}}, echo)
	pongs := make(chan string, 1)
	c := dial(t, ts.url, &DialOptions{
		Subprotocols: []string{"chat.v1"},
		OnPong:       func(data []byte) { pongs <- string(data) },
	})
	if c.Subprotocol() != "chat.v1" {
		t.Errorf("Subprotocol() = %q", c.Subprotocol())
	}
	if err := c.Ping([]byte("are you there")); err != nil {
		t.Fatal(err)
	}
	if err := c.Send("after ping"); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); m.Text() != "after ping" {
		t.Errorf("got %q", m.Text())
	}
	if p := await(t, pongs, "pong"); p != "are you there" {
		t.Errorf("pong payload %q", p)
	}
	wantCode(t, c.Ping(make([]byte, 126)), ErrInvalidArgument)
}

func TestReceiveHonoursContext(t *testing.T) {
	ts := startServer(t, ServerOptions{}, nil)
	c := dial(t, ts.url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive with nothing coming: %v", err)
	}
	if d := time.Since(start); d > bound {
		t.Errorf("Receive took %v", d)
	}
	// Close from another goroutine ends a Receive in progress.
	done := make(chan error, 1)
	go func() {
		_, err := c.Receive(context.Background())
		done <- err
	}()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := await(t, done, "Receive to end on Close"); !errors.Is(err, ErrClosed) {
		t.Errorf("Receive after Close: %v", err)
	}
	wantCode(t, c.Send("x"), ErrState)
}

func TestThreadedServer(t *testing.T) {
	ts := startServer(t, ServerOptions{Threads: 2}, echo)
	for i := 0; i < 3; i++ {
		c := dial(t, ts.url, nil)
		if err := c.Send("loop"); err != nil {
			t.Fatal(err)
		}
		if m := receive(t, c); m.Text() != "loop" {
			t.Errorf("got %q", m.Text())
		}
	}
}

func TestOnError(t *testing.T) {
	type report struct {
		c   *Client
		err error
	}
	errs := make(chan report, 4)
	connected := make(chan *Client, 1)
	ts := startServer(t, ServerOptions{MaxClients: 1}, func(s *Server) {
		s.OnConnect(func(c *Client) { connected <- c })
		s.OnError(func(c *Client, err error) { errs <- report{c, err} })
		if err := s.OnHandshake(func(*Client) error { return nil }); err != nil {
			t.Fatal(err)
		}
	})
	dial(t, ts.url, nil)
	await(t, connected, "the first client")
	// Accepted by the handler, but over MaxClients: 503, and the error
	// tells the host that the request it accepted never became a client.
	_, err := Dial(ts.url+"/second", nil)
	var e *Error
	if !errors.As(err, &e) || e.HTTPStatus != 503 {
		t.Fatalf("second client: %#v, want HTTP 503", err)
	}
	r := await(t, errs, "OnError")
	if r.c == nil || r.c.Path != "/second" || r.err == nil || r.err.Error() == "" {
		t.Errorf("OnError(%+v, %v)", r.c, r.err)
	}
}
