package nexus

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pair is a connected TCP (or TLS) client and the server's end of it.
func pair(t *testing.T, srv *SocketServer, dialTo func(port int) (*Socket, error)) (client, conn *Socket, peer string) {
	t.Helper()
	port, err := srv.Port()
	if err != nil {
		t.Fatal(err)
	}
	type accepted struct {
		s    *Socket
		peer string
		err  error
	}
	ch := make(chan accepted, 1)
	go func() {
		s, p, err := srv.Accept(bound)
		ch <- accepted{s, p, err}
	}()
	client, err = dialTo(port)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	a := await(t, ch, "Accept")
	if a.err != nil {
		t.Fatalf("Accept: %v", a.err)
	}
	t.Cleanup(func() { client.Close(); a.s.Close() })
	return client, a.s, a.peer
}

func TestTCPSocket(t *testing.T) {
	srv, err := ListenSocket(TCP, "127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	client, conn, peer := pair(t, srv, func(port int) (*Socket, error) { return DialSocket(TCP, "127.0.0.1", port) })
	if peer != client.LocalAddress() || conn.PeerAddress() != peer || !client.IsConnected() {
		t.Errorf("peer %q, client local %q, conn peer %q", peer, client.LocalAddress(), conn.PeerAddress())
	}
	if client.Type() != TCP {
		t.Errorf("Type() = %v", client.Type())
	}

	if n, err := client.WriteString("hello\nworld\npartial"); err != nil || n != 19 {
		t.Fatalf("WriteString = %d, %v", n, err)
	}
	for _, want := range []string{"hello\n", "world\n"} {
		if line, err := conn.ReadLine(100); err != nil || string(line) != want {
			t.Fatalf("ReadLine = %q, %v; want %q", line, err, want)
		}
	}
	wantCode(t, func() error { _, err := conn.ReadLine(4); return err }(), ErrTooBig)

	// Read waits without holding the socket: a write goes out meanwhile.
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 4)
		_, err := io.ReadFull(client, buf)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(buf)
	}()
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "partial") {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if _, err := conn.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if s := await(t, got, "the concurrent Read"); s != "pong" {
		t.Errorf("concurrent Read got %q", s)
	}

	binary := []byte{0, 1, 0, 2, 0xff}
	if _, err := client.Write(binary); err != nil {
		t.Fatal(err)
	}
	client.Close()
	rest, err := conn.ReadAll(1 << 20)
	if err != nil || !bytes.HasSuffix(rest, binary) {
		t.Fatalf("ReadAll = %v, %v", rest, err)
	}
	if _, err := conn.Read(buf); err != io.EOF {
		t.Errorf("Read at the end: %v, want io.EOF", err)
	}
	if _, err := conn.ReadLine(10); err != io.EOF {
		t.Errorf("ReadLine at the end: %v, want io.EOF", err)
	}
	if conn.IsConnected() {
		t.Error("IsConnected() after the peer closed")
	}
	wantCode(t, func() error { _, err := client.Write([]byte("x")); return err }(), ErrState)
}

func TestSocketTimeoutsAndErrors(t *testing.T) {
	srv, err := ListenSocket(TCP, "127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	start := time.Now()
	_, _, err = srv.Accept(30 * time.Millisecond)
	wantCode(t, err, ErrTimeout, ErrConnection)
	var e *Error
	if !errors.As(err, &e) || !e.Timeout() {
		t.Errorf("Accept timeout: %#v", err)
	}
	if time.Since(start) > bound {
		t.Error("Accept waited past its timeout")
	}

	client, conn, _ := pair(t, srv, func(port int) (*Socket, error) { return DialSocket(TCP, "localhost", port) })
	if err := conn.SetTimeout(30 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Read(make([]byte, 10))
	wantCode(t, err, ErrTimeout)
	_, err = conn.ReadLine(10)
	wantCode(t, err, ErrTimeout)
	wantCode(t, client.SetOption("no_such_option", "1"), ErrInvalidArgument)
	wantCode(t, client.SetOption("timeout", "soon"), ErrInvalidArgument)

	port, _ := srv.Port()
	_, err = ListenSocket(TCP, "127.0.0.1", port)
	wantCode(t, err, ErrBind)
	_, err = DialSocket(TCP, "127.0.0.1", 1)
	wantCode(t, err, ErrRefused, ErrConnection)
	_, err = NewSocket(SocketType(42))
	wantCode(t, err, ErrInvalidArgument)

	// Close ends an Accept in progress.
	done := make(chan error, 1)
	go func() {
		_, _, err := srv.Accept(-1)
		done <- err
	}()
	srv.Close()
	if err := await(t, done, "Accept to end on Close"); !errors.Is(err, ErrState) {
		t.Errorf("Accept after Close: %v", err)
	}
	srv.Close() // idempotent
	_, err = srv.Port()
	wantCode(t, err, ErrState)
}

func TestUDPSocket(t *testing.T) {
	a, err := NewSocket(UDP)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewSocket(UDP)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, s := range []*Socket{a, b} {
		if err := s.Bind("127.0.0.1", 0); err != nil {
			t.Fatal(err)
		}
		if err := s.SetTimeout(bound); err != nil {
			t.Fatal(err)
		}
	}
	portOf := func(s *Socket) int {
		_, p, _ := strings.Cut(s.LocalAddress(), ":")
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("LocalAddress %q", s.LocalAddress())
		}
		return n
	}
	datagram := []byte("one\x00datagram")
	if n, err := b.SendTo("127.0.0.1", portOf(a), datagram); err != nil || n != len(datagram) {
		t.Fatalf("SendTo = %d, %v", n, err)
	}
	data, from, err := a.ReceiveFrom(100)
	if err != nil || !bytes.Equal(data, datagram) || from != b.LocalAddress() {
		t.Fatalf("ReceiveFrom = %q from %q, %v; want from %q", data, from, err, b.LocalAddress())
	}
	if err := a.Connect("127.0.0.1", portOf(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("connected")); err != nil {
		t.Fatal(err)
	}
	got, err := b.Receive(4) // one datagram, truncated
	if err != nil || string(got) != "conn" {
		t.Fatalf("Receive = %q, %v", got, err)
	}
}

func TestTLSSocket(t *testing.T) {
	files := makeCertificates(t)
	srv, err := NewSocketServer(TLS)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for name, value := range map[string]string{
		"local_cert": files.cert, "local_pk": files.key, "handshake_timeout": "5",
	} {
		if err := srv.SetOption(name, value); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Listen("127.0.0.1", 0); err != nil {
		t.Fatal(err)
	}
	dialTLS := func(cafile string) func(int) (*Socket, error) {
		return func(port int) (*Socket, error) {
			s, err := NewSocket(TLS)
			if err != nil {
				return nil, err
			}
			if cafile != "" {
				if err := s.SetOption("cafile", cafile); err != nil {
					return nil, err
				}
			}
			if err := s.SetTimeout(bound); err != nil {
				return nil, err
			}
			if err := s.Connect("localhost", port); err != nil {
				s.Close()
				return nil, err
			}
			return s, nil
		}
	}
	client, conn, _ := pair(t, srv, dialTLS(files.ca))
	if _, err := client.WriteString("over TLS\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := conn.ReadLine(100); err != nil || string(line) != "over TLS\n" {
		t.Fatalf("ReadLine = %q, %v", line, err)
	}
	if _, err := conn.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "back" {
		t.Fatalf("Read = %q, %v", buf, err)
	}

	// Without the CA the client refuses the certificate; the server lives on.
	port, _ := srv.Port()
	accepted := make(chan error, 1)
	go func() {
		_, _, err := srv.Accept(bound)
		accepted <- err
	}()
	_, err = dialTLS("")(port)
	wantCode(t, err, ErrConnection)
	if !errors.Is(err, ErrCert) && !errors.Is(err, ErrTLS) {
		t.Errorf("untrusted certificate: %v, want ErrCert or ErrTLS", err)
	}
	wantCode(t, await(t, accepted, "the failed handshake"), ErrConnection)
	client2, conn2, _ := pair(t, srv, dialTLS(files.ca))
	if _, err := client2.WriteString("still serving\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := conn2.ReadLine(100); err != nil || string(line) != "still serving\n" {
		t.Fatalf("after a failed handshake: %q, %v", line, err)
	}
}

func TestStartTLS(t *testing.T) {
	files := makeCertificates(t)
	srv, err := NewSocketServer(TCP)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// A plain TCP server may carry TLS options for its sockets' STARTTLS.
	if err := srv.SetOption("local_cert", files.cert); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetOption("local_pk", files.key); err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen("127.0.0.1", 0); err != nil {
		t.Fatal(err)
	}
	client, conn, _ := pair(t, srv, func(port int) (*Socket, error) {
		s, err := NewSocket(TCP)
		if err != nil {
			return nil, err
		}
		if err := s.SetOption("cafile", files.ca); err != nil {
			return nil, err
		}
		return s, s.Connect("localhost", port)
	})
	if _, err := client.WriteString("STARTTLS\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := conn.ReadLine(100); err != nil || string(line) != "STARTTLS\n" {
		t.Fatalf("ReadLine = %q, %v", line, err)
	}
	serverSide := make(chan error, 1)
	go func() { serverSide <- conn.StartTLS(true) }()
	if err := client.StartTLS(false); err != nil {
		t.Fatalf("client StartTLS: %v", err)
	}
	if err := await(t, serverSide, "server StartTLS"); err != nil {
		t.Fatalf("server StartTLS: %v", err)
	}
	if _, err := conn.WriteString("secret\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := client.ReadLine(100); err != nil || string(line) != "secret\n" {
		t.Fatalf("after STARTTLS: %q, %v", line, err)
	}
}
