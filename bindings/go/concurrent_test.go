package nexus

import (
	"context"
	"sync"
	"testing"
)

// TestConcurrentOperations runs every kind of server call from goroutines
// while clients come and go, for the race detector.
func TestConcurrentOperations(t *testing.T) {
	ts := startServer(t, ServerOptions{}, func(s *Server) {
		s.OnConnect(func(c *Client) { c.Subscribe("all") })
		echo(s)
	})
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c, err := Dial(ts.url, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for i := 0; i < 20; i++ {
				ts.Broadcast("b")
				ts.Publish("all", "p")
				ts.Stats()
				ids, _ := ts.Clients()
				for _, id := range ids {
					ts.Channels(id)
				}
				if err := c.Send("e"); err != nil {
					t.Error(err)
					return
				}
			}
			// Our own echoes come back among the broadcasts.
			echoes := 0
			for echoes < 20 {
				m, err := c.Receive(ctx)
				if err != nil {
					t.Errorf("client %d after %d echoes: %v", g, echoes, err)
					return
				}
				if m.Text() == "e" {
					echoes++
				}
			}
		}(g)
	}
	wg.Wait()
}
