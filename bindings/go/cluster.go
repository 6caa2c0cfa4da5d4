package nexus

import (
	"net/http"
	"strings"
	"time"

	"nexus-socket/nexus/internal/native"
)

// ClientInfo is what ClusterClients knows of one client of the cluster: the
// facts of its upgrade request and, at the time of the call, its user data
// (and, for a client of this server, its channels).
type ClientInfo struct {
	ID          ClientID
	Local       bool        // a client of this server (else of another one)
	Peer        string      // "ip:port", "[ip6]:port"
	Path        string      // the request path, "/" at least
	RawQuery    string      // without '?'
	Origin      string      // "" when the request had none
	Subprotocol string      // chosen; "" when none
	Header      http.Header // the request headers
	ConnectedAt time.Time
	Compressed  bool     // permessage-deflate was agreed
	UserData    []byte   // see SetUserData
	Channels    []string // subscribed channels; nil for another server's client
}

// NodeID is this server's node id in the cluster: the part of its clients'
// ids that says which server they are on. 0 without scaling and before
// Start.
func (s *Server) NodeID() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return 0
	}
	return uint32(s.native.Node_id())
}

// ClusterClients lists every client of every live server, by ascending id:
// this server's from its own registry, the others' from their presence in
// Redis (a server that died leaves it within ScalingOptions.Lease).
// Without scaling it lists this server's clients. It waits for a few round
// trips to Redis, each bounded by ScalingOptions.Timeout, and holds the
// server meanwhile: with one event loop (Threads 1) the loop waits too.
// When Redis cannot be asked, an error of the ErrConnection group
// (ErrRefused, ErrIO, ErrTimeout, ...).
func (s *Server) ClusterClients() ([]ClientInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return nil, errClosedHandle("cluster clients")
	}
	ids, local, err := s.clusterIDs("cluster clients")
	if err != nil {
		return nil, err
	}
	out := make([]ClientInfo, 0, len(ids))
	for _, id := range ids {
		info, err := value("cluster clients", func() native.NxWsClientInfo { return s.native.Client_info(id) })
		if err != nil {
			// A client of this server that left meanwhile.
			continue
		}
		out = append(out, clientInfoFrom(info, local[id]))
		native.DeleteNxWsClientInfo(info)
	}
	return out, nil
}

// ClusterStats adds up the counters of every live server (Servers says how
// many; the others' figures are at most a third of ScalingOptions.Lease
// old). Without scaling it is Stats. It waits for Redis as ClusterClients
// does, with the same errors.
func (s *Server) ClusterStats() (Stats, error) {
	return s.readStats("cluster stats", func() native.NxWsServerStats { return s.native.Cluster_stats() })
}

// clusterIDs asks for the cluster's client ids and tells this server's
// apart: those its own registry lists before or after the query (the query
// saw the registry in between). Caller holds s.mu.
func (s *Server) clusterIDs(op string) (ids []uint64, local map[uint64]bool, err error) {
	before, err := value(op, s.native.Clients)
	if err != nil {
		return nil, nil, err
	}
	ids, err = value(op, s.native.Cluster_clients)
	if err != nil {
		return nil, nil, err
	}
	after, err := value(op, s.native.Clients)
	if err != nil {
		return nil, nil, err
	}
	local = make(map[uint64]bool, len(before)+len(after))
	for _, id := range before {
		local[id] = true
	}
	for _, id := range after {
		local[id] = true
	}
	return ids, local, nil
}

// backplaneUp reports whether this server's links to Redis work now.
// Caller holds s.mu.
func (s *Server) backplaneUp() bool {
	n, err := value("stats", s.native.Stats)
	if err != nil {
		return false
	}
	defer native.DeleteNxWsServerStats(n)
	return n.GetBackplane_up() != 0
}

func clientInfoFrom(info native.NxWsClientInfo, local bool) ClientInfo {
	c := ClientInfo{
		ID:          ClientID(info.GetId()),
		Local:       local,
		Peer:        info.GetPeer(),
		Path:        info.GetPath(),
		RawQuery:    info.GetQuery(),
		Origin:      info.GetOrigin(),
		Subprotocol: info.GetSubprotocol(),
		Header:      parseHeaders(info.Headers()),
		Compressed:  info.GetCompressed() != 0,
		UserData:    info.User_data(),
	}
	if ms := info.GetConnected_at_ms(); ms > 0 {
		c.ConnectedAt = time.UnixMilli(ms)
	}
	for _, name := range strings.Split(string(info.Channels()), "\n") {
		if name != "" {
			c.Channels = append(c.Channels, name)
		}
	}
	return c
}
