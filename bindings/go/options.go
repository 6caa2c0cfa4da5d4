package nexus

import (
	"net"
	"strconv"
	"strings"
	"time"

	"nexus-socket/nexus/internal/native"
)

// LogLevel is the library's process-wide log level.
type LogLevel int

// Log levels. The zero value keeps the library's default (LogWarning).
const (
	LogDefault LogLevel = iota
	LogTrace
	LogDebug
	LogInfo
	LogWarning
	LogError
	LogOff
)

// ServerOptions configure a Server. The zero value of every field means
// the library's default (docs/configuration.md lists them); durations
// that can be turned off take a negative value for "off".
type ServerOptions struct {
	// Addr is "host:port" to listen on; "" is "0.0.0.0:8080", and port 0
	// picks a free port (Server.Port tells which after Start).
	Addr string
	// Threads is the number of event loops sharing the port (default 1:
	// the loop runs inside Listen's goroutine, see docs/go.md).
	Threads int
	// MaxClients: over it the handshake is answered with HTTP 503 (100).
	MaxClients int

	HandshakeTimeout time.Duration // unfinished handshakes are dropped (10 s)
	PingInterval     time.Duration // negative: no pings (30 s)
	PongTimeout      time.Duration // silent this long after a ping: dropped (30 s)
	IdleTimeout      time.Duration // no message either way: close 1001 (off)
	CloseTimeout     time.Duration // bound of stop's flush and the close handshake (5 s)

	MaxHeaderBytes int64 // request head over it: HTTP 431 (16 KiB)
	MaxFrameSize   int64 // frames over it: close 1009 (1 MiB)
	MaxMessageSize int64 // messages over it: close 1009 (1 MiB)
	MaxSendQueue   int64 // bytes queued for one client; over it: close 1008 (4 MiB)
	MaxEventQueue  int64 // bytes of events waiting for Listen, Threads > 1 (64 MiB)

	// MaxMessagesPerSecond per client; over it: close 1008 (no limit).
	MaxMessagesPerSecond float64

	AllowedOrigins []string // exact Origin values; empty allows all
	Subprotocols   []string // in order of preference
	Compression    bool     // offer permessage-deflate (RFC 7692)
	Deflate        *DeflateOptions
	StaticDir      string // plain HTTP GETs are served from here (else 404)
	LogLevel       LogLevel

	// TLS turns on wss:// (and https for StaticDir) with PHP's ssl context
	// options by name: "local_cert" (required), "local_pk", "passphrase",
	// "ciphers", "verify_peer" + "cafile" (client certificates), and
	// "sni:HOST" = "CERT,KEY[,PASSPHRASE]". Start loads the files:
	// ErrTLSConfig names the one that cannot be used.
	TLS map[string]string

	// Scaling, when set, makes this server one of several sharing clients,
	// broadcasts, channels and presence through Redis (docs/scaling.md);
	// nil: on its own.
	Scaling *ScalingOptions
}

// ScalingOptions connect a Server to the others on the same Redis and
// Prefix (docs/scaling.md), which then act as one:
//
//   - Send, SendBinary, SendMessage and Disconnect take the id of any
//     client of any live server (ids are unique in the cluster and carry
//     their server's node id, see Server.NodeID). For another server's
//     client they return nil once the message is handed to Redis,
//     ErrNoClient when no live server has that node id, and ErrUnavailable
//     while Redis is out of reach.
//   - Broadcast and Publish reach every server's clients, each message once
//     and in the order each server sent them; they return how many of this
//     server's clients they were queued for.
//   - ClusterClients and ClusterStats cover every live server.
//   - Subscribe, Unsubscribe, Channels, UserData, SetUserData, Clients and
//     Stats stay with this server's clients.
//
// Redis out of reach, at Start or later, is reported once through OnError
// with a nil client; the server keeps serving its own clients, counts what
// it could not hand over (Stats.RemoteDropped) and reconnects by itself.
// As in ServerOptions, a zero field means the library's default.
type ScalingOptions struct {
	// RedisURL is redis://[[user]:password@]host[:port][/db], or rediss://
	// for TLS ("": redis://127.0.0.1:6379/0).
	RedisURL string
	// Prefix starts every Redis key and channel the servers use ("nexus"):
	// servers with different prefixes on one Redis never see each other.
	Prefix string
	// Lease: a server that stops refreshing its presence (killed, cut off)
	// leaves it, with its clients, once this has passed; at least 300 ms
	// (10 s).
	Lease time.Duration
	// Timeout bounds connecting to Redis, each command and each query of
	// ClusterClients and ClusterStats (2 s).
	Timeout time.Duration
	// MaxBacklog is the bytes waiting to go to Redis beyond which remote
	// deliveries are dropped and counted in Stats.RemoteDropped (16 MiB).
	MaxBacklog int64
}

// DeflateOptions tune permessage-deflate when Compression is on. Unlike
// ServerOptions, every field is taken as it is: start from
// DefaultDeflateOptions.
type DeflateOptions struct {
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool
	ServerMaxWindowBits     int // 8..15
	ClientMaxWindowBits     int // 8..15
	Level                   int // zlib level -1..9
	MemoryLevel             int // zlib memLevel 1..9
}

// DefaultDeflateOptions are the library's defaults.
func DefaultDeflateOptions() DeflateOptions {
	return DeflateOptions{
		ServerNoContextTakeover: true,
		ServerMaxWindowBits:     15,
		ClientMaxWindowBits:     15,
		Level:                   -1,
		MemoryLevel:             8,
	}
}

// splitAddr parses Addr; "" keeps the native defaults.
func splitAddr(addr string) (host string, port int, err error) {
	if addr == "" {
		return "", -1, nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, &Error{Op: "new server", Code: CodeInvalidArgument, Detail: "Addr: " + err.Error()}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, &Error{Op: "new server", Code: CodeInvalidArgument,
			Detail: "Addr: expected a port number from 0 to 65535, got " + strconv.Quote(p)}
	}
	return h, n, nil
}

func millis(d time.Duration) uint {
	if d < 0 {
		return 0
	}
	return uint(d / time.Millisecond)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// toNative fills the generated options struct; the caller deletes it.
func (o *ServerOptions) toNative(handshakeEvents bool) (native.NxWsServerOptions, error) {
	host, port, err := splitAddr(o.Addr)
	if err != nil {
		return nil, err
	}
	n := native.NewNxWsServerOptions()
	if host != "" {
		n.SetHost(host)
	}
	if port >= 0 {
		n.SetPort(port)
	}
	if o.Threads > 0 {
		n.SetThreads(uint(o.Threads))
	}
	if o.MaxClients > 0 {
		n.SetMax_clients(uint64(o.MaxClients))
	}
	setDuration := func(d time.Duration, set func(uint)) {
		if d != 0 {
			set(millis(d))
		}
	}
	setDuration(o.HandshakeTimeout, n.SetHandshake_timeout_ms)
	setDuration(o.PingInterval, n.SetPing_interval_ms)
	setDuration(o.PongTimeout, n.SetPong_timeout_ms)
	setDuration(o.IdleTimeout, n.SetIdle_timeout_ms)
	setDuration(o.CloseTimeout, n.SetClose_timeout_ms)
	setSize := func(v int64, set func(uint64)) {
		if v > 0 {
			set(uint64(v))
		}
	}
	setSize(o.MaxHeaderBytes, n.SetMax_header_bytes)
	setSize(o.MaxFrameSize, n.SetMax_frame_size)
	setSize(o.MaxMessageSize, n.SetMax_message_size)
	setSize(o.MaxSendQueue, n.SetMax_send_queue)
	setSize(o.MaxEventQueue, n.SetMax_event_queue)
	if o.MaxMessagesPerSecond > 0 {
		n.SetMax_messages_per_second(o.MaxMessagesPerSecond)
	}
	if len(o.AllowedOrigins) > 0 {
		n.SetAllowed_origins(strings.Join(o.AllowedOrigins, ","))
	}
	if len(o.Subprotocols) > 0 {
		n.SetSubprotocols(strings.Join(o.Subprotocols, ","))
	}
	n.SetPermessage_deflate(boolInt(o.Compression))
	if d := o.Deflate; d != nil {
		n.SetDeflate_server_no_context_takeover(boolInt(d.ServerNoContextTakeover))
		n.SetDeflate_client_no_context_takeover(boolInt(d.ClientNoContextTakeover))
		n.SetDeflate_server_max_window_bits(d.ServerMaxWindowBits)
		n.SetDeflate_client_max_window_bits(d.ClientMaxWindowBits)
		n.SetDeflate_level(d.Level)
		n.SetDeflate_memory_level(d.MemoryLevel)
	}
	if o.StaticDir != "" {
		n.SetStatic_dir(o.StaticDir)
	}
	if o.LogLevel != LogDefault {
		n.SetLog_level(int(o.LogLevel - LogTrace))
	}
	if sc := o.Scaling; sc != nil {
		n.SetScaling_redis(1)
		if sc.RedisURL != "" {
			n.SetRedis_url(sc.RedisURL)
		}
		if sc.Prefix != "" {
			n.SetScaling_prefix(sc.Prefix)
		}
		setDuration(sc.Lease, n.SetScaling_lease_ms)
		setDuration(sc.Timeout, n.SetScaling_timeout_ms)
		setSize(sc.MaxBacklog, n.SetScaling_max_backlog)
	}
	n.SetHandshake_events(boolInt(handshakeEvents))
	return n, nil
}
