package nexus

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// redisServer is a redis-server of the test's own (Debian's redis-server)
// on a free loopback port, in memory only, killed when the test ends
// (tests/io/redis_fixture.hpp does the same for the C++ tests).
type redisServer struct {
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped

	mu     sync.Mutex
	output strings.Builder
}

// freePort is a loopback TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis starts redis-server on port (0: a free one) and waits until it
// accepts connections.
func startRedis(t *testing.T, port int) *redisServer {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("the scaling tests need redis-server (Debian package redis-server): %v", err)
	}
	if port == 0 {
		port = freePort(t)
	}
	r := &redisServer{port: port, done: make(chan struct{})}
	r.cmd = exec.Command(path, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--loglevel", "notice")
	// Killed with this process too, should the test binary die before its
	// cleanups run (a timeout's panic).
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = r.cmd.Stdout
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	t.Cleanup(r.kill)
	ready := make(chan struct{})
	go func() {
		// Read to the end, so that the server never blocks on its log.
		lines := bufio.NewScanner(out)
		signalled := false
		for lines.Scan() {
			r.mu.Lock()
			r.output.WriteString(lines.Text() + "\n")
			r.mu.Unlock()
			if !signalled && strings.Contains(lines.Text(), "Ready to accept connections") {
				signalled = true
				close(ready)
			}
		}
		r.cmd.Wait()
		close(r.done)
	}()
	select {
	case <-ready:
	case <-r.done:
		t.Fatalf("redis-server exited before it was ready:\n%s", r.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("redis-server was not ready within 20 s:\n%s", r.log())
	}
	return r
}

func (r *redisServer) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) }

// kill ends the server with SIGKILL and reaps it; later calls do nothing.
func (r *redisServer) kill() {
	r.cmd.Process.Kill()
	<-r.done
}

func (r *redisServer) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.output.String()
}

// uniquePrefix keeps each test's servers apart from every other test's.
func uniquePrefix() string { return fmt.Sprintf("gotest%d", rand.Uint32()) }

// clusterOptions are the options of a server in a test cluster: short
// lease and timeout, so that faults show quickly.
func clusterOptions(url, prefix string) ServerOptions {
	return ServerOptions{Scaling: &ScalingOptions{
		RedisURL: url,
		Prefix:   prefix,
		Lease:    1500 * time.Millisecond,
		Timeout:  time.Second,
	}}
}

// eventually polls condition every 20 ms until it holds or 15 s passed.
func eventually(condition func() bool) bool {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if condition() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return condition()
}

// Client ids carry their server's node id above bit 40
// (io/src/cluster_codec.hpp); the tests make ids of other nodes with it.
const nodeShift = 40

// absentIDOn is an id on s's node that no client has.
func absentIDOn(s *Server) ClientID { return ClientID(uint64(s.NodeID())<<nodeShift | 0xFFFFFFFF) }

// linked waits until from reaches to: from's backplane is up and knows
// to's node (a send to an absent client there is then handed to Redis).
func linked(from, to *Server) bool {
	return eventually(func() bool { return from.Send(absentIDOn(to), "probe") == nil })
}
