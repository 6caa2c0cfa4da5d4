package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"nexus-socket/examples/internal/exampletest"
	"nexus-socket/nexus"
)

func TestEcho(t *testing.T) {
	url, _ := exampletest.Start(t, run, "--host", "127.0.0.1", "--port", "0", "--threads", "2")
	if !strings.HasPrefix(url, "ws://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("announced %q", url)
	}
	c, err := nexus.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), exampletest.Bound)
	defer cancel()
	for _, m := range []nexus.Message{nexus.TextMessage("hello"), nexus.BinaryMessage([]byte{0, 1, 2})} {
		if err := c.SendMessage(m); err != nil {
			t.Fatal(err)
		}
		got, err := c.Receive(ctx)
		if err != nil || got.Type != m.Type || !bytes.Equal(got.Data, m.Data) {
			t.Fatalf("echo of %v: %v %q, %v", m.Type, got.Type, got.Data, err)
		}
	}
}

func TestEchoUsage(t *testing.T) {
	var out, errs strings.Builder
	if code := run(context.Background(), []string{"--port", "x"}, &out, &errs); code != 2 {
		t.Errorf("bad --port: exit %d", code)
	}
	if code := run(context.Background(), []string{"--port", "70000"}, &out, &errs); code != 2 {
		t.Errorf("port 70000: exit %d", code)
	}
}
