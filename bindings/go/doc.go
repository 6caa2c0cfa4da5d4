// Package nexus is the Go API of nexus-socket: a WebSocket server and
// client, and plain TCP, TLS and UDP sockets, over the library's stable C
// API (libnexus-socket, found with pkg-config as nexus-socket).
//
// A server:
//
//	srv, err := nexus.NewServer(nexus.ServerOptions{Addr: "127.0.0.1:8080"})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer srv.Close()
//	srv.OnMessage(func(c *nexus.Client, m nexus.Message) {
//		c.SendMessage(m) // echo
//	})
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//	defer stop()
//	err = srv.Listen(ctx)
//
// Errors are values: *Error carries the C API's status and detail, and
// errors.Is matches the sentinels (ErrNoClient, ErrTimeout, ErrConnection,
// ...). Every object has Close; a cleanup (runtime.AddCleanup) frees what
// was not closed, as a safety net only. docs/go.md is the guide.
package nexus
