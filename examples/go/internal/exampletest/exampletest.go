// Package exampletest runs an example's run function on a goroutine of the
// test, as its main would, and finds the address it announces.
package exampletest

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// Bound is how long a test waits for any one event.
const Bound = 10 * time.Second

// Program is an example's run(ctx, args, stdout, stderr) exit status.
type Program func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// Start runs p with args and returns the ws:// URL of its "running on"
// line and the lines it prints after it. The program is stopped (its
// context cancelled) when the test ends, and must exit 0 within Bound.
func Start(t *testing.T, p Program, args ...string) (url string, lines <-chan string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	var stderr strings.Builder
	exited := make(chan int, 1)
	go func() {
		code := p(ctx, args, w, &stderr)
		w.Close()
		exited <- code
	}()
	all := make(chan string, 1024)
	go func() {
		scanner := bufio.NewScanner(out)
		for scanner.Scan() {
			all <- scanner.Text()
		}
		close(all)
	}()
	t.Cleanup(func() {
		cancel()
		go func() {
			for range all { // keep the pipe drained while it stops
			}
		}()
		select {
		case code := <-exited:
			if code != 0 {
				t.Errorf("exit status %d; stderr: %s", code, stderr.String())
			}
		case <-time.After(Bound):
			t.Errorf("the program did not stop")
		}
	})
	first := Line(t, all)
	i := strings.Index(first, "ws://")
	if i < 0 {
		t.Fatalf("first line %q names no ws:// address", first)
	}
	return first[i:], all
}

// Line waits for the next line.
func Line(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("the program ended its output")
		}
		return l
	case <-time.After(Bound):
		t.Fatal("timed out waiting for output")
	}
	return ""
}
