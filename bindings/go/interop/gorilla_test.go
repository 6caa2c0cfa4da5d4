// Package interop checks the nexus package against gorilla/websocket: its
// client against our server, our client against its server, and many
// goroutines sending at once to a gorilla client.
package interop

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"nexus-socket/nexus"
)

// gorilla/websocket is the independent peer: its client against our
// server, our client against its server.

func gorillaDial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: bound}
	conn, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("gorilla Dial %s: %v", url, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(bound))
	return conn
}

func TestGorillaClientAgainstOurServer(t *testing.T) {
	closed := make(chan [2]any, 1)
	ts := startServer(t, nexus.ServerOptions{Compression: true}, func(s *nexus.Server) {
		echo(s)
		s.OnDisconnect(func(c *nexus.Client, code int, reason string) { closed <- [2]any{code, reason} })
	})
	d := websocket.Dialer{HandshakeTimeout: bound, EnableCompression: true}
	conn, resp, err := d.Dial(ts.url+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(bound))

	for _, m := range []struct {
		typ  int
		data []byte
	}{
		{websocket.TextMessage, []byte("grüße")},
		{websocket.BinaryMessage, []byte{0, 0xff, 0x80}},
		{websocket.TextMessage, bytes.Repeat([]byte("compressible "), 20000)},
	} {
		if err := conn.WriteMessage(m.typ, m.data); err != nil {
			t.Fatal(err)
		}
		typ, data, err := conn.ReadMessage()
		if err != nil || typ != m.typ || !bytes.Equal(data, m.data) {
			t.Fatalf("echo: type %d, %d bytes, %v; want type %d, %d bytes", typ, len(data), err, m.typ, len(m.data))
		}
	}
	msg := websocket.FormatCloseMessage(4002, "done here")
	if err := conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(bound)); err != nil {
		t.Fatal(err)
	}
	got := await(t, closed, "OnDisconnect")
	if got[0].(int) != 4002 || got[1].(string) != "done here" {
		t.Errorf("OnDisconnect(%v, %q)", got[0], got[1])
	}
	_, _, err = conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4002 {
		t.Errorf("gorilla saw %v, want the close echoed with 4002", err)
	}
}

// gorillaServer is an echo server made with gorilla's Upgrader.
func gorillaServer(t *testing.T, onConn func(*websocket.Conn, *http.Request)) string {
	t.Helper()
	up := websocket.Upgrader{Subprotocols: []string{"v1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		onConn(conn, r)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestOurClientAgainstGorillaServer(t *testing.T) {
	seen := make(chan string, 1)
	url := gorillaServer(t, func(conn *websocket.Conn, r *http.Request) {
		seen <- r.Header.Get("X-Who") + " " + r.URL.RawQuery
		conn.SetPingHandler(func(data string) error {
			return conn.WriteControl(websocket.PongMessage, []byte("pong:"+data), time.Now().Add(bound))
		})
		for {
			typ, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if string(data) == "ping me" {
				conn.WriteControl(websocket.PingMessage, []byte("srv"), time.Now().Add(bound))
			}
			if err := conn.WriteMessage(typ, data); err != nil {
				return
			}
		}
	})
	pings, pongs := make(chan string, 1), make(chan string, 1)
	c := dial(t, url+"/x?q=1", &nexus.DialOptions{
		Header:       http.Header{"X-Who": {"nexus"}},
		Subprotocols: []string{"v0", "v1"},
		OnPing:       func(b []byte) { pings <- string(b) },
		OnPong:       func(b []byte) { pongs <- string(b) },
	})
	if s := await(t, seen, "the request"); s != "nexus q=1" {
		t.Errorf("gorilla saw %q", s)
	}
	if c.Subprotocol() != "v1" {
		t.Errorf("Subprotocol() = %q", c.Subprotocol())
	}
	if err := c.SendBinary([]byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); m.Type != nexus.Binary || !bytes.Equal(m.Data, []byte{1, 2, 3}) {
		t.Errorf("got %v %v", m.Type, m.Data)
	}
	if err := c.Ping([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if err := c.Send("ping me"); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); m.Text() != "ping me" {
		t.Errorf("got %q", m.Text())
	}
	if p := await(t, pongs, "pong"); p != "pong:hi" {
		t.Errorf("pong %q", p)
	}
	if p := await(t, pings, "ping"); p != "srv" {
		t.Errorf("ping %q", p)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentSend sends from many goroutines at once to one gorilla
// client: every message arrives whole, each goroutine's in its order.
func TestConcurrentSend(t *testing.T) {
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			connected := make(chan *nexus.Client, 1)
			ts := startServer(t, nexus.ServerOptions{Threads: threads}, func(s *nexus.Server) {
				s.OnConnect(func(c *nexus.Client) { connected <- c })
			})
			conn := gorillaDial(t, ts.url)
			client := await(t, connected, "OnConnect")

			const senders, each = 32, 50
			var wg sync.WaitGroup
			errs := make(chan error, senders)
			for g := 0; g < senders; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < each; i++ {
						var err error
						if i%2 == 0 {
							err = ts.Send(client.ID, fmt.Sprintf("%d:%d", g, i))
						} else {
							err = client.SendBinary([]byte(fmt.Sprintf("%d:%d", g, i)))
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("Send: %v", err)
			}
			next := make([]int, senders)
			for n := 0; n < senders*each; n++ {
				typ, data, err := conn.ReadMessage()
				if err != nil {
					t.Fatalf("after %d messages: %v", n, err)
				}
				var g, i int
				if _, err := fmt.Sscanf(string(data), "%d:%d", &g, &i); err != nil {
					t.Fatalf("message %q", data)
				}
				wantType := websocket.TextMessage
				if i%2 == 1 {
					wantType = websocket.BinaryMessage
				}
				if i != next[g] || typ != wantType {
					t.Fatalf("goroutine %d: got message %d (type %d), want %d", g, i, typ, next[g])
				}
				next[g]++
			}
		})
	}
}
