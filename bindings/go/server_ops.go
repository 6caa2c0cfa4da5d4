package nexus

import (
	"errors"
	"strconv"
	"strings"

	"nexus-socket/nexus/internal/native"
)

// Send queues a text message to a client. Errors: ErrNoClient (never was,
// or gone), ErrClosing (the client is closing: nothing more goes out),
// ErrQueueFull (over MaxSendQueue: the client is being cut off), ErrUTF8,
// ErrTooBig, ErrState (before Start or while stopping). With scaling, id may
// be a client of another server (see ScalingOptions; ErrUnavailable).
func (s *Server) Send(id ClientID, text string) error {
	return s.send(id, Text, text)
}

// SendBinary queues a binary message to a client; errors as Send.
func (s *Server) SendBinary(id ClientID, data []byte) error {
	return s.send(id, Binary, view(data))
}

// SendMessage queues m to a client; errors as Send.
func (s *Server) SendMessage(id ClientID, m Message) error {
	if err := m.check("send"); err != nil {
		return err
	}
	return s.send(id, m.Type, view(m.Data))
}

func (s *Server) send(id ClientID, t MessageType, data string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return errClosedHandle("send")
	}
	_, err := check("send", func() int { return s.native.Send(uint64(id), data, int(t)) })
	return err
}

// Broadcast queues a text message to every connected client but those in
// except, encoded once, and returns how many it was queued for. With
// scaling, the other servers' clients get it too (see ScalingOptions); more
// than one exclusion then costs a ClusterClients query and one message
// through Redis per remote client.
func (s *Server) Broadcast(text string, except ...ClientID) (int, error) {
	return s.broadcast(Text, text, except)
}

// BroadcastBinary is Broadcast for binary data.
func (s *Server) BroadcastBinary(data []byte, except ...ClientID) (int, error) {
	return s.broadcast(Binary, view(data), except)
}

// BroadcastMessage is Broadcast for a Message of either type.
func (s *Server) BroadcastMessage(m Message, except ...ClientID) (int, error) {
	if err := m.check("broadcast"); err != nil {
		return 0, err
	}
	return s.broadcast(m.Type, view(m.Data), except)
}

func (s *Server) broadcast(t MessageType, data string, except []ClientID) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return 0, errClosedHandle("broadcast")
	}
	if len(except) <= 1 {
		var skip uint64
		if len(except) == 1 {
			skip = uint64(except[0])
		}
		return check("broadcast", func() int { return s.native.Broadcast(data, int(t), skip) })
	}
	// The C API leaves out one client; more are sent one by one. A client
	// that is closing or gone meanwhile is skipped, as broadcast does.
	// With scaling, "every client" is the cluster's: the other servers'
	// clients are sent to through Redis, and only this server's are
	// counted, as the C API's broadcast counts. While Redis is out of
	// reach (known without asking it, so no query waits for its timeout)
	// or cannot be asked, the local clients only: a broadcast would not
	// reach the others either.
	ids, err := value("broadcast", s.native.Clients)
	if err != nil {
		return 0, err
	}
	var local map[uint64]bool
	if s.options.Scaling != nil && s.backplaneUp() {
		if all, mine, err := s.clusterIDs("broadcast"); err == nil {
			ids, local = all, mine
		}
	}
	skip := make(map[ClientID]bool, len(except))
	for _, id := range except {
		skip[id] = true
	}
	n := 0
	for _, id := range ids {
		if skip[ClientID(id)] {
			continue
		}
		rc, err := check("broadcast", func() int { return s.native.Send(id, data, int(t)) })
		switch {
		case err == nil && rc == 0:
			if local == nil || local[id] {
				n++
			}
		case errIsAny(err, ErrNoClient, ErrClosing, ErrQueueFull, ErrUnavailable):
		default:
			return n, err
		}
	}
	return n, nil
}

// Disconnect starts the close handshake with a client: code 1000 or
// 3000..4999 (or another code valid to send), a UTF-8 reason of at most
// 123 bytes. OnDisconnect follows (on the client's server). ErrNoClient,
// ErrClosing, ErrInvalidArgument; with scaling, id may be a client of
// another server (see ScalingOptions; ErrUnavailable).
func (s *Server) Disconnect(id ClientID, code int, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return errClosedHandle("disconnect")
	}
	_, err := check("disconnect", func() int { return s.native.Disconnect(uint64(id), code, reason) })
	return err
}

// Clients lists the connected clients in connection order.
func (s *Server) Clients() ([]ClientID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return nil, errClosedHandle("clients")
	}
	ids, err := value("clients", s.native.Clients)
	if err != nil {
		return nil, err
	}
	out := make([]ClientID, len(ids))
	for i, id := range ids {
		out[i] = ClientID(id)
	}
	return out, nil
}

// ClientCount is the number of connected clients.
func (s *Server) ClientCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return 0
	}
	return s.native.Client_count()
}

// Client is the connected client id, the same *Client the handlers get:
// known from its OnConnect until its OnDisconnect, ErrNoClient otherwise.
func (s *Server) Client(id ClientID) (*Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return nil, errClosedHandle("client")
	}
	if c := s.clients[id]; c != nil {
		return c, nil
	}
	return nil, &Error{Op: "client", Code: CodeNoClient, Detail: "no client with id " + strconv.FormatUint(uint64(id), 10)}
}

// Subscribe adds a client to a channel (a name of 1..256 bytes without
// NUL, CR or LF; ErrInvalidArgument otherwise). ErrNoClient.
func (s *Server) Subscribe(id ClientID, channel string) error {
	return s.channelOp("subscribe", id, channel)
}

// Unsubscribe takes a client out of a channel.
func (s *Server) Unsubscribe(id ClientID, channel string) error {
	return s.channelOp("unsubscribe", id, channel)
}

func (s *Server) channelOp(op string, id ClientID, channel string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return errClosedHandle(op)
	}
	_, err := check(op, func() int {
		if op == "subscribe" {
			return s.native.Subscribe(uint64(id), channel)
		}
		return s.native.Unsubscribe(uint64(id), channel)
	})
	return err
}

// Publish queues a text message to the clients subscribed to channel now
// and returns how many.
func (s *Server) Publish(channel, text string) (int, error) {
	return s.publish(channel, Text, text)
}

// PublishBinary is Publish for binary data.
func (s *Server) PublishBinary(channel string, data []byte) (int, error) {
	return s.publish(channel, Binary, view(data))
}

// PublishMessage is Publish for a Message of either type.
func (s *Server) PublishMessage(channel string, m Message) (int, error) {
	if err := m.check("publish"); err != nil {
		return 0, err
	}
	return s.publish(channel, m.Type, view(m.Data))
}

func (s *Server) publish(channel string, t MessageType, data string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return 0, errClosedHandle("publish")
	}
	return check("publish", func() int { return s.native.Publish(channel, data, int(t)) })
}

// Channels lists the channels a client is subscribed to.
func (s *Server) Channels(id ClientID) ([]string, error) {
	raw, err := s.infoField("channels", id, func(c native.NxWsClientInfo) []byte { return c.Channels() })
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range strings.Split(string(raw), "\n") {
		if name != "" {
			out = append(out, name)
		}
	}
	return out, nil
}

// UserData is what SetUserData kept with a client.
func (s *Server) UserData(id ClientID) ([]byte, error) {
	return s.infoField("user data", id, func(c native.NxWsClientInfo) []byte { return c.User_data() })
}

// SetUserData keeps data (copied, at most 64 KiB: ErrTooBig) with a
// client, for as long as it is connected; set on a request in the
// OnHandshake handler, it is the client's from its connect on.
func (s *Server) SetUserData(id ClientID, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return errClosedHandle("set user data")
	}
	_, err := check("set user data", func() int { return s.native.Set_user_data(uint64(id), view(data)) })
	return err
}

// Stats are the server's counters since Start (or, from ClusterStats,
// every live server's added up).
type Stats struct {
	Clients                 uint64 // connected now
	ConnectionsTotal        uint64 // handshakes accepted
	HandshakesRejected      uint64 // answered with an HTTP error
	HTTPRequests            uint64 // plain HTTP requests served
	MessagesIn              uint64
	MessagesOut             uint64
	BytesIn                 uint64 // message payload bytes
	BytesOut                uint64
	DroppedHandshakeTimeout uint64
	DroppedPongTimeout      uint64
	DroppedIdleTimeout      uint64
	DroppedSendQueueFull    uint64
	DroppedRateLimited      uint64
	DroppedProtocolError    uint64
	DroppedServerStopping   uint64
	DroppedPendingLimit     uint64
	DroppedTLSHandshake     uint64 // wss://: TLS handshakes that failed

	// Scaling (ServerOptions.Scaling); 0 without it.
	RemoteOut       uint64 // broadcasts, publishes, sends handed to Redis
	RemoteIn        uint64 // messages from other servers acted on here
	RemoteDropped   uint64 // not handed to Redis: unreachable or over MaxBacklog
	BackplaneErrors uint64 // connections to Redis lost or refused
	// BackplaneUp is 1 while this server's links to Redis work; from
	// ClusterStats, how many servers' do.
	BackplaneUp uint64
	// Servers is 1; from ClusterStats, the live servers added up.
	Servers uint64
}

// Stats reads the counters.
func (s *Server) Stats() (Stats, error) {
	return s.readStats("stats", func() native.NxWsServerStats { return s.native.Stats() })
}

// readStats runs a generated stats call under the server's mutex.
func (s *Server) readStats(op string, call func() native.NxWsServerStats) (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return Stats{}, errClosedHandle(op)
	}
	n, err := value(op, call)
	if err != nil {
		return Stats{}, err
	}
	defer native.DeleteNxWsServerStats(n)
	return Stats{
		Clients:                 n.GetClients(),
		ConnectionsTotal:        n.GetConnections_total(),
		HandshakesRejected:      n.GetHandshakes_rejected(),
		HTTPRequests:            n.GetHttp_requests(),
		MessagesIn:              n.GetMessages_in(),
		MessagesOut:             n.GetMessages_out(),
		BytesIn:                 n.GetBytes_in(),
		BytesOut:                n.GetBytes_out(),
		DroppedHandshakeTimeout: n.GetDropped_handshake_timeout(),
		DroppedPongTimeout:      n.GetDropped_pong_timeout(),
		DroppedIdleTimeout:      n.GetDropped_idle_timeout(),
		DroppedSendQueueFull:    n.GetDropped_send_queue_full(),
		DroppedRateLimited:      n.GetDropped_rate_limited(),
		DroppedProtocolError:    n.GetDropped_protocol_error(),
		DroppedServerStopping:   n.GetDropped_server_stopping(),
		DroppedPendingLimit:     n.GetDropped_pending_limit(),
		DroppedTLSHandshake:     n.GetDropped_tls_handshake(),
		RemoteOut:               n.GetRemote_out(),
		RemoteIn:                n.GetRemote_in(),
		RemoteDropped:           n.GetRemote_dropped(),
		BackplaneErrors:         n.GetBackplane_errors(),
		BackplaneUp:             n.GetBackplane_up(),
		Servers:                 n.GetServers(),
	}, nil
}

// infoField reads one live field of a client's info.
func (s *Server) infoField(op string, id ClientID, field func(native.NxWsClientInfo) []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return nil, errClosedHandle(op)
	}
	info, err := value(op, func() native.NxWsClientInfo { return s.native.Client_info(uint64(id)) })
	if err != nil {
		return nil, err
	}
	defer native.DeleteNxWsClientInfo(info)
	return field(info), nil
}

func errIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
