package nexus

import (
	"bytes"
	"strings"
	"testing"
)

// wss://: the server with TLS options, our client trusting the test CA.
func TestWssEchoAndCertificateChecks(t *testing.T) {
	certs := makeCertificates(t)
	ts := startServer(t, ServerOptions{TLS: map[string]string{
		"local_cert": certs.cert,
		"local_pk":   certs.key,
	}}, echo)
	url := strings.Replace(ts.url, "ws://127.0.0.1", "wss://localhost", 1)

	c := dial(t, url, &DialOptions{TLS: map[string]string{"cafile": certs.ca}})
	payload := bytes.Repeat([]byte("tls"), 30000)
	if err := c.SendBinary(payload); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); !bytes.Equal(m.Data, payload) {
		t.Fatalf("echo over wss: got %d bytes", len(m.Data))
	}

	// The system's CAs do not know the test CA.
	_, err := Dial(url, nil)
	wantCode(t, err, ErrCert, ErrConnection)
	// An unknown option is the caller's mistake.
	_, err = Dial(url, &DialOptions{TLS: map[string]string{"no_such_option": "1"}})
	wantCode(t, err, ErrInvalidArgument)
}

func TestWssUnusableCertificateFailsStart(t *testing.T) {
	srv, err := NewServer(ServerOptions{Addr: "127.0.0.1:0", TLS: map[string]string{
		"local_cert": "/nonexistent/cert.pem",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	err = srv.Start()
	wantCode(t, err, ErrTLSConfig, ErrInvalidArgument)
	if !strings.Contains(err.Error(), "/nonexistent/cert.pem") {
		t.Fatalf("the error does not name the file: %v", err)
	}
}
