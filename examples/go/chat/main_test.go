package main

import (
	"context"
	"strings"
	"testing"

	"nexus-socket/examples/internal/exampletest"
	"nexus-socket/nexus"
)

func TestChat(t *testing.T) {
	url, lines := exampletest.Start(t, run, "--host", "127.0.0.1", "--port", "0")
	ctx, cancel := context.WithTimeout(context.Background(), exampletest.Bound)
	defer cancel()
	next := func(c *nexus.WebSocketClient) string {
		t.Helper()
		m, err := c.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m.Text()
	}

	ann, err := nexus.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	annID := strings.Trim(strings.Fields(exampletest.Line(t, lines))[0], "[]")
	bob, err := nexus.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	bobID := strings.Trim(strings.Fields(exampletest.Line(t, lines))[0], "[]")
	if got := next(ann); got != bobID+" joined the chat" {
		t.Errorf("ann got %q", got)
	}
	if err := bob.Send("hi all"); err != nil {
		t.Fatal(err)
	}
	want := "[" + bobID + "] hi all"
	for _, c := range []*nexus.WebSocketClient{ann, bob} {
		if got := next(c); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if line := exampletest.Line(t, lines); line != want {
		t.Errorf("server printed %q", line)
	}
	bob.Close()
	if got := next(ann); got != bobID+" left the chat" {
		t.Errorf("ann got %q after bob left", got)
	}
	if annID == bobID {
		t.Errorf("two clients with id %s", annID)
	}
}
