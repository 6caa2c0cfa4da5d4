// Command echo is a WebSocket echo server: every message goes back to its
// sender as it came, text as text and binary as binary. It prints the
// address once bound and stops gracefully on SIGINT or SIGTERM. Made to be
// measured too: --threads runs more event loops.
//
//	build/bin/go-nexus run ./echo --host 127.0.0.1 --port 8080
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

// run is the whole program, apart from the signals: the tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("echo", flag.ContinueOnError)
	flags.SetOutput(stderr)
	host := flags.String("host", "0.0.0.0", "address to listen on")
	port := flags.Int("port", 8080, "port to listen on (0 picks a free one)")
	threads := flags.Int("threads", 1, "event loops")
	maxClients := flags.Int("max-clients", 10000, "clients at most")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	srv, err := nexus.NewServer(nexus.ServerOptions{
		Addr:       net.JoinHostPort(*host, strconv.Itoa(*port)),
		Threads:    *threads,
		MaxClients: *maxClients,
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer srv.Close()
	srv.OnMessage(func(c *nexus.Client, m nexus.Message) {
		// A client that is closing or over its send queue is no error
		// of the server's: it is on its way out.
		_ = c.SendMessage(m)
	})
	if err := srv.Start(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "Echo server running on ws://%s\n", srv.Addr())
	if err := srv.Listen(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
