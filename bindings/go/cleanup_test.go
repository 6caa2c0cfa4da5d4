package nexus

import (
	"errors"
	"runtime"
	"testing"
	"time"
)

// A server nobody closed is released by the safety net once unreachable,
// also when its handlers refer back to it (a cycle a finalizer would never
// collect): its port becomes free again.
func TestSafetyNetReleasesUnclosedServer(t *testing.T) {
	port := func() int {
		s, err := NewServer(ServerOptions{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		s.OnConnect(func(c *Client) { s.Broadcast("cycle") })
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		p, _ := s.Port()
		return p
	}()
	deadline := time.Now().Add(bound)
	for {
		runtime.GC()
		again, err := NewServer(ServerOptions{Addr: "127.0.0.1:" + itoa(port)})
		if err != nil {
			t.Fatal(err)
		}
		err = again.Start()
		again.Close()
		if err == nil {
			return
		}
		if !errors.Is(err, ErrBind) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %d still bound: the unclosed server was never released", port)
		}
		runtime.Gosched()
	}
}
