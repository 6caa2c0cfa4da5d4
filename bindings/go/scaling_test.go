package nexus

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Scaling: two servers in this process share clients through a real
// redis-server of the test's own (redis_test.go).

// clusterMember is a server of a test cluster with the ids of the clients
// that connected to it, in order.
type clusterMember struct {
	*testServer
	connected chan ClientID
	left      chan ClientID
}

func startMember(t *testing.T, options ServerOptions) *clusterMember {
	t.Helper()
	m := &clusterMember{connected: make(chan ClientID, 16), left: make(chan ClientID, 16)}
	m.testServer = startServer(t, options, func(s *Server) {
		s.OnConnect(func(c *Client) { m.connected <- c.ID })
		s.OnDisconnect(func(c *Client, code int, reason string) { m.left <- c.ID })
	})
	return m
}

// join connects a client of ours to m and returns it with its id there.
func (m *clusterMember) join(t *testing.T, target string) (*WebSocketClient, ClientID) {
	t.Helper()
	c := dial(t, m.url+target, nil)
	return c, await(t, m.connected, "OnConnect")
}

// twoServers starts a redis-server and two servers sharing it, linked both
// ways.
func twoServers(t *testing.T) (a, b *clusterMember) {
	t.Helper()
	redis := startRedis(t, 0)
	prefix := uniquePrefix()
	a = startMember(t, clusterOptions(redis.url(), prefix))
	b = startMember(t, clusterOptions(redis.url(), prefix))
	if !linked(a.Server, b.Server) || !linked(b.Server, a.Server) {
		t.Fatalf("the servers did not see each other through Redis:\n%s", redis.log())
	}
	return a, b
}

func wantText(t *testing.T, c *WebSocketClient, want string) {
	t.Helper()
	if m := receive(t, c); m.Type != Text || m.Text() != want {
		t.Fatalf("got %v %q, want text %q", m.Type, m.Data, want)
	}
}

func TestScalingBroadcastPublishAndSendAcrossServers(t *testing.T) {
	a, b := twoServers(t)
	a1, a1ID := a.join(t, "/")
	b1, b1ID := b.join(t, "/")
	b2, _ := b.join(t, "/")
	if a1ID == b1ID || uint64(a1ID)>>nodeShift != uint64(a.NodeID()) || uint64(b1ID)>>nodeShift != uint64(b.NodeID()) {
		t.Fatalf("ids %d (node %d) and %d (node %d)", a1ID, a.NodeID(), b1ID, b.NodeID())
	}

	// Broadcast: everyone on both servers, once; the count is A's own.
	if n, err := a.Broadcast("hello all"); err != nil || n != 1 {
		t.Fatalf("Broadcast = %d, %v; want 1 (local)", n, err)
	}
	for _, c := range []*WebSocketClient{a1, b1, b2} {
		wantText(t, c, "hello all")
	}
	// Excluding a client of the other server.
	if _, err := a.Broadcast("not b1", b1ID); err != nil {
		t.Fatal(err)
	}
	wantText(t, a1, "not b1")
	wantText(t, b2, "not b1") // B has acted on it: b1 would have it before what follows
	if _, err := b.Broadcast("second"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*WebSocketClient{a1, b1, b2} {
		wantText(t, c, "second")
	}
	// More than one exclusion, across servers.
	if !eventually(func() bool { all, err := a.ClusterClients(); return err == nil && len(all) == 3 }) {
		t.Fatal("ClusterClients never listed the three clients")
	}
	if n, err := a.BroadcastBinary([]byte{0, 1, 2}, a1ID, b1ID); err != nil || n != 0 {
		t.Fatalf("Broadcast except a1, b1 = %d, %v; want 0 (no client of A)", n, err)
	}
	if m := receive(t, b2); m.Type != Binary || !bytes.Equal(m.Data, []byte{0, 1, 2}) {
		t.Fatalf("b2 got %v %v", m.Type, m.Data)
	}
	if _, err := a.Broadcast("third"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*WebSocketClient{a1, b1, b2} {
		wantText(t, c, "third")
	}

	// Send to a client of the other server, both ways, text and binary.
	if err := a.Send(b1ID, "for b1 only"); err != nil {
		t.Fatal(err)
	}
	wantText(t, b1, "for b1 only")
	if err := b.SendMessage(a1ID, BinaryMessage([]byte("back\x00"))); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, a1); m.Type != Binary || string(m.Data) != "back\x00" {
		t.Fatalf("a1 got %v %q", m.Type, m.Data)
	}
	wantCode(t, a.Send(b1ID, "\xff"), ErrUTF8)

	// Publish reaches the subscribers of every server, and only them.
	if err := a.Subscribe(a1ID, "news"); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(b1ID, "news"); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Publish("news", "extra"); err != nil || n != 1 {
		t.Fatalf("Publish = %d, %v; want 1 (local)", n, err)
	}
	wantText(t, a1, "extra")
	wantText(t, b1, "extra") // B has acted on it: b2 would have it before the marker
	if _, err := b.Broadcast("marker"); err != nil {
		t.Fatal(err)
	}
	wantText(t, b2, "marker")

	// Disconnect a client of the other server.
	if err := a.Disconnect(b1ID, 4001, "moved"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for {
		m, err := b1.Receive(ctx)
		var closed *CloseError
		if errors.As(err, &closed) {
			if closed.Code != 4001 || closed.Reason != "moved" {
				t.Fatalf("b1 closed with %d %q", closed.Code, closed.Reason)
			}
			break
		}
		if err != nil {
			t.Fatalf("b1: %v", err)
		}
		if m.Text() != "marker" {
			t.Fatalf("b1 got %q before its close", m.Data)
		}
	}
	if id := await(t, b.left, "OnDisconnect on B"); id != b1ID {
		t.Fatalf("B lost %d, want %d", id, b1ID)
	}

	// A server that is not there: no such client.
	nowhere := ClientID(4_000_000<<nodeShift | 1)
	wantCode(t, a.Send(nowhere, "x"), ErrNoClient)
	wantCode(t, a.Disconnect(nowhere, 1000, ""), ErrNoClient)

	// What went through Redis is counted on both sides.
	if !eventually(func() bool {
		sa, errA := a.Stats()
		sb, errB := b.Stats()
		return errA == nil && errB == nil && sa.RemoteOut >= 5 && sb.RemoteIn >= 5 &&
			sb.RemoteOut >= 2 && sa.RemoteIn >= 2
	}) {
		sa, _ := a.Stats()
		sb, _ := b.Stats()
		t.Fatalf("remote counters: A %+v, B %+v", sa, sb)
	}
}

func TestScalingClusterClientsAndStats(t *testing.T) {
	a, b := twoServers(t)
	_, a1ID := a.join(t, "/room?name=blue")
	b1, b1ID := b.join(t, "/lobby")
	if err := b.SetUserData(b1ID, []byte("alice")); err != nil {
		t.Fatal(err)
	}
	if err := a.Subscribe(a1ID, "news"); err != nil {
		t.Fatal(err)
	}

	var all []ClientInfo
	if !eventually(func() bool {
		var err error
		all, err = a.ClusterClients()
		return err == nil && len(all) == 2 && string(all[0].UserData)+string(all[1].UserData) == "alice"
	}) {
		t.Fatalf("ClusterClients = %+v", all)
	}
	if all[0].ID >= all[1].ID {
		t.Errorf("not in ascending order: %d, %d", all[0].ID, all[1].ID)
	}
	byID := map[ClientID]ClientInfo{all[0].ID: all[0], all[1].ID: all[1]}
	mine, remote := byID[a1ID], byID[b1ID]
	if mine.ID != a1ID || !mine.Local || mine.Path != "/room" || mine.RawQuery != "name=blue" ||
		!reflect.DeepEqual(mine.Channels, []string{"news"}) {
		t.Errorf("A's own client: %+v", mine)
	}
	if remote.ID != b1ID || remote.Local || remote.Path != "/lobby" || string(remote.UserData) != "alice" ||
		remote.Channels != nil {
		t.Errorf("B's client seen from A: %+v", remote)
	}
	for _, c := range all {
		if !strings.HasPrefix(c.Peer, "127.0.0.1:") || c.ConnectedAt.IsZero() ||
			time.Since(c.ConnectedAt) > time.Minute || c.Header.Get("Sec-Websocket-Key") == "" {
			t.Errorf("client %d: peer %q, connected at %v, header %v", c.ID, c.Peer, c.ConnectedAt, c.Header)
		}
	}
	if ids, err := a.Clients(); err != nil || !reflect.DeepEqual(ids, []ClientID{a1ID}) {
		t.Errorf("Clients() = %v, %v; stays local", ids, err)
	}

	// Statistics of both servers added up.
	var total Stats
	if !eventually(func() bool {
		var err error
		total, err = b.ClusterStats()
		return err == nil && total.Servers == 2 && total.Clients == 2
	}) {
		t.Fatalf("ClusterStats = %+v", total)
	}
	if total.BackplaneUp != 2 || total.ConnectionsTotal != 2 {
		t.Errorf("ClusterStats = %+v", total)
	}
	if own, err := b.Stats(); err != nil || own.Servers != 1 || own.Clients != 1 || own.BackplaneUp != 1 {
		t.Errorf("Stats = %+v, %v", own, err)
	}
	if a.NodeID() == 0 || a.NodeID() == b.NodeID() {
		t.Errorf("node ids %d and %d", a.NodeID(), b.NodeID())
	}

	// A client that leaves leaves presence.
	b1.Close()
	await(t, b.left, "OnDisconnect on B")
	if !eventually(func() bool { all, err := a.ClusterClients(); return err == nil && len(all) == 1 }) {
		t.Error("B's client stayed in ClusterClients after it left")
	}
	// A server that stops says goodbye: it leaves at once, not after its lease.
	b.Close()
	if !eventually(func() bool { s, err := a.ClusterStats(); return err == nil && s.Servers == 1 }) {
		t.Error("ClusterStats still counts the stopped server")
	}
}

func TestScalingOffClusterCallsAreLocal(t *testing.T) {
	ts := startMember(t, ServerOptions{})
	_, id := ts.join(t, "/solo")
	all, err := ts.ClusterClients()
	if err != nil || len(all) != 1 || all[0].ID != id || !all[0].Local || all[0].Path != "/solo" {
		t.Fatalf("ClusterClients = %+v, %v", all, err)
	}
	if s, err := ts.ClusterStats(); err != nil || s.Servers != 1 || s.Clients != 1 || s.RemoteOut != 0 {
		t.Fatalf("ClusterStats = %+v, %v", s, err)
	}
	if ts.NodeID() != 0 {
		t.Fatalf("NodeID() = %d without scaling", ts.NodeID())
	}
}

func TestScalingRedisDownAtStart(t *testing.T) {
	port := freePort(t) // nothing listens there yet
	errs := make(chan error, 4)
	options := clusterOptions("redis://127.0.0.1:"+strconv.Itoa(port), uniquePrefix())
	a := startServer(t, options, func(s *Server) {
		echo(s)
		s.OnError(func(c *Client, err error) {
			if c == nil {
				errs <- err
			}
		})
	})
	// Reported once, as the server's own error.
	err := await(t, errs, "OnError for Redis")
	if msg := strings.ToLower(err.Error()); !strings.Contains(msg, "redis") || !strings.Contains(msg, strconv.Itoa(port)) {
		t.Errorf("OnError(nil, %q): does not name Redis and its port", err)
	}

	// Local clients are served meanwhile.
	a1 := dial(t, a.url, nil)
	if err := a1.Send("echo me"); err != nil {
		t.Fatal(err)
	}
	wantText(t, a1, "echo me")
	if n, err := a.Broadcast("lonely"); err != nil || n != 1 {
		t.Fatalf("Broadcast = %d, %v", n, err)
	}
	wantText(t, a1, "lonely")
	if n, err := a.Broadcast("two excluded", 1, 2); err != nil || n != 1 { // the local way
		t.Fatalf("Broadcast with two exclusions = %d, %v", n, err)
	}
	wantText(t, a1, "two excluded")
	if s, err := a.Stats(); err != nil || s.RemoteDropped < 1 || s.BackplaneUp != 0 || s.BackplaneErrors < 1 {
		t.Errorf("Stats = %+v, %v; want RemoteDropped >= 1, BackplaneUp 0, BackplaneErrors >= 1", s, err)
	}
	// A client of another server cannot be reached now; the cluster cannot be asked.
	other := uint64(a.NodeID()) + 1
	wantCode(t, a.Send(ClientID(other<<nodeShift|1), "x"), ErrUnavailable)
	wantCode(t, a.Disconnect(ClientID(other<<nodeShift|1), 1000, ""), ErrUnavailable)
	_, err = a.ClusterClients()
	wantCode(t, err, ErrConnection)
	_, err = a.ClusterStats()
	wantCode(t, err, ErrConnection)

	// Redis comes: the server links up by itself.
	redis := startRedis(t, port)
	if !eventually(func() bool { s, err := a.Stats(); return err == nil && s.BackplaneUp == 1 }) {
		t.Fatalf("the server did not reconnect to Redis:\n%s", redis.log())
	}
	if all, err := a.ClusterClients(); err != nil || len(all) != 1 {
		t.Errorf("ClusterClients after Redis came = %+v, %v", all, err)
	}
	if n := len(errs); n != 0 {
		t.Errorf("%d more OnError calls after the first", n)
	}
}

func TestScalingOptionsAreChecked(t *testing.T) {
	for name, sc := range map[string]ScalingOptions{
		"lease":   {Lease: 100 * time.Millisecond},
		"timeout": {Timeout: -1},
		"url":     {RedisURL: "http://127.0.0.1/"},
		"prefix":  {Prefix: "has space"},
	} {
		_, err := NewServer(ServerOptions{Scaling: &sc})
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: NewServer error %v, want ErrInvalidArgument", name, err)
		}
	}
}
