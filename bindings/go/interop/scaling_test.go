package interop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"nexus-socket/nexus"
)

// Scaling with gorilla clients: two of our servers share one redis-server
// (started here, as bindings/go/redis_test.go does for the package's own
// tests), a gorilla client on each.

// startRedis runs redis-server on a free loopback port, in memory only,
// until the test ends, and returns its URL.
func startRedis(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("the scaling tests need redis-server (Debian package redis-server): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command(path, "--bind", "127.0.0.1", "--port", port, "--save", "",
		"--appendonly", "no", "--dir", t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the test binary
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready, done := make(chan struct{}), make(chan struct{})
	go func() {
		lines := bufio.NewScanner(out)
		signalled := false
		for lines.Scan() { // to the end: the server never blocks on its log
			if !signalled && strings.Contains(lines.Text(), "Ready to accept connections") {
				signalled = true
				close(ready)
			}
		}
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	select {
	case <-ready:
	case <-done:
		t.Fatal("redis-server exited before it was ready")
	case <-time.After(20 * time.Second):
		t.Fatal("redis-server was not ready within 20 s")
	}
	return "redis://127.0.0.1:" + port
}

func TestScalingWithGorillaClients(t *testing.T) {
	url := startRedis(t)
	scaling := &nexus.ScalingOptions{RedisURL: url, Prefix: fmt.Sprintf("gointerop%d", rand.Uint32()),
		Lease: 1500 * time.Millisecond, Timeout: time.Second}
	connected := map[string]chan nexus.ClientID{"a": make(chan nexus.ClientID, 4), "b": make(chan nexus.ClientID, 4)}
	member := func(name string, compression bool) *testServer {
		return startServer(t, nexus.ServerOptions{Scaling: scaling, Compression: compression}, func(s *nexus.Server) {
			s.OnConnect(func(c *nexus.Client) { connected[name] <- c.ID })
			// A chat: what a client says goes to every client of every server.
			s.OnMessage(func(c *nexus.Client, m nexus.Message) {
				if _, err := s.BroadcastMessage(m); err != nil {
					panic(err)
				}
			})
		})
	}
	a, b := member("a", true), member("b", false)
	// Linked both ways: a send to an absent client of the other server's
	// node (ids carry it above bit 40) is handed to Redis.
	for _, pair := range [][2]*testServer{{a, b}, {b, a}} {
		from, to := pair[0], pair[1]
		probe := nexus.ClientID(uint64(to.NodeID())<<40 | 0xFFFFFFFF)
		deadline := time.Now().Add(15 * time.Second)
		for from.Send(probe, "probe") != nil {
			if time.Now().After(deadline) {
				t.Fatal("the servers did not see each other through Redis")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	d := websocket.Dialer{HandshakeTimeout: bound, EnableCompression: true}
	a1, resp, err := d.Dial(a.url+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer a1.Close()
	a1.SetReadDeadline(time.Now().Add(bound))
	a1ID := await(t, connected["a"], "OnConnect on A")
	b1 := gorillaDial(t, b.url+"/")
	b1ID := await(t, connected["b"], "OnConnect on B")

	want := func(conn *websocket.Conn, typ int, data []byte) {
		t.Helper()
		gotType, got, err := conn.ReadMessage()
		if err != nil || gotType != typ || !bytes.Equal(got, data) {
			t.Fatalf("got type %d, %d bytes (%.40q), %v; want type %d, %d bytes (%.40q)",
				gotType, len(got), got, err, typ, len(data), data)
		}
	}
	// A chat message on B reaches A's (compressed) client; one on A, B's.
	if err := b1.WriteMessage(websocket.TextMessage, []byte("hi from b1")); err != nil {
		t.Fatal(err)
	}
	want(b1, websocket.TextMessage, []byte("hi from b1"))
	want(a1, websocket.TextMessage, []byte("hi from b1"))
	big := bytes.Repeat([]byte("compressible \x00"), 20000)
	if err := a1.WriteMessage(websocket.BinaryMessage, big); err != nil {
		t.Fatal(err)
	}
	want(a1, websocket.BinaryMessage, big)
	want(b1, websocket.BinaryMessage, big)

	// Direct sends across servers.
	if err := a.Send(b1ID, "to b1 from A"); err != nil {
		t.Fatal(err)
	}
	want(b1, websocket.TextMessage, []byte("to b1 from A"))
	if err := b.SendBinary(a1ID, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	want(a1, websocket.BinaryMessage, []byte{1, 2, 3})

	// A closes B's client.
	if err := a.Disconnect(b1ID, 4003, "elsewhere"); err != nil {
		t.Fatal(err)
	}
	_, _, err = b1.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4003 || ce.Text != "elsewhere" {
		t.Fatalf("b1 saw %v, want close 4003 elsewhere", err)
	}
}
