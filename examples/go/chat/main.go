// Command chat is the seed's chat server: every client sees who joins and
// leaves, and every message as "[ID] text". With --static-dir it also
// serves a page (examples/chat/index.html is one) over plain HTTP.
//
//	build/bin/go-nexus run ./chat --port 8080 --static-dir ../chat
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"nexus-socket/nexus"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("chat", flag.ContinueOnError)
	flags.SetOutput(stderr)
	host := flags.String("host", "0.0.0.0", "address to listen on")
	port := flags.Int("port", 8080, "port to listen on (0 picks a free one)")
	static := flags.String("static-dir", "", "serve plain HTTP GETs from here")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	ws, err := nexus.NewServer(nexus.ServerOptions{
		Addr:      net.JoinHostPort(*host, strconv.Itoa(*port)),
		StaticDir: *static,
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer ws.Close()

	// Handlers run one at a time on Listen's goroutine; broadcasting while
	// the server stops counts 0 clients and is no error.
	ws.OnConnect(func(c *nexus.Client) {
		fmt.Fprintf(stdout, "[%d] connected\n", c.ID)
		ws.Broadcast(fmt.Sprintf("%d joined the chat", c.ID), c.ID)
	})
	ws.OnMessage(func(c *nexus.Client, m nexus.Message) {
		fmt.Fprintf(stdout, "[%d] %s\n", c.ID, m.Text())
		ws.Broadcast(fmt.Sprintf("[%d] %s", c.ID, m.Text()))
	})
	ws.OnDisconnect(func(c *nexus.Client, code int, reason string) {
		fmt.Fprintf(stdout, "[%d] disconnected\n", c.ID)
		ws.Broadcast(fmt.Sprintf("%d left the chat", c.ID))
	})

	if err := ws.Start(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "WebSocket chat server running on ws://%s\n", ws.Addr())
	if err := ws.Listen(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
