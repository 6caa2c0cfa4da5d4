package nexus

import (
	"errors"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"nexus-socket/nexus/internal/native"
)

// The event kinds of the C API (enum nx_event_kind).
const (
	eventNone       = 0
	eventConnect    = 1
	eventMessage    = 2
	eventDisconnect = 3
	eventError      = 4
	eventHandshake  = 5
	eventStopped    = 6
	eventPing       = 7
	eventPong       = 8
)

// event is a polled event copied out of the native server: its pointers
// are valid only until the next poll, which may come from another call.
type event struct {
	kind      int
	client    ClientID
	opcode    int
	closeCode int
	data      []byte
	info      *Client // CONNECT and HANDSHAKE: the request's facts
}

// poll takes the next event without waiting. With one loop this is also
// the loop's step: sockets, timers and queued output progress here.
func (s *Server) poll() (event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return event{}, errClosedHandle("listen")
	}
	kind, err := check("poll", func() int { return s.native.Poll(0) })
	if err != nil {
		return event{}, err
	}
	ev := event{kind: kind}
	switch kind {
	case eventNone:
		return ev, nil
	case eventStopped:
		s.stopped = true
		return ev, nil
	}
	ev.client = ClientID(s.native.Event_client())
	ev.opcode = s.native.Event_opcode()
	ev.closeCode = s.native.Event_close_code()
	ev.data = s.native.Event_data()
	switch kind {
	case eventConnect:
		// The client's facts are read once, here, while they exist.
		delete(s.requests, ev.client)
		c, err := s.clientInfo(ev.client)
		if err != nil {
			c = &Client{ID: ev.client, server: s}
		}
		s.clients[ev.client] = c
		ev.info = c
	case eventHandshake:
		c, err := s.clientInfo(ev.client)
		if err != nil {
			c = &Client{ID: ev.client, server: s}
		}
		s.requests[ev.client] = c
		ev.info = c
	case eventDisconnect:
		c := s.clients[ev.client]
		if c == nil {
			c = &Client{ID: ev.client, server: s}
		}
		delete(s.clients, ev.client)
		ev.info = c
	case eventMessage:
		ev.info = s.clients[ev.client]
		if ev.info == nil {
			ev.info = &Client{ID: ev.client, server: s}
		}
	case eventError:
		// Client 0 is the server itself: OnError gets nil then.
		if ev.client != 0 {
			ev.info = s.clients[ev.client]
			if req := s.requests[ev.client]; req != nil {
				// An accepted request that never became a client.
				ev.info = req
				delete(s.requests, ev.client)
			}
			if ev.info == nil {
				ev.info = &Client{ID: ev.client, server: s}
			}
		}
	}
	return ev, nil
}

// dispatch calls the handler of ev, without holding s.mu.
func (s *Server) dispatch(ev event) {
	h := &s.handlers
	h.mu.Lock()
	onConnect, onMessage, onDisconnect := h.onConnect, h.onMessage, h.onDisconnect
	onError, onHandshake := h.onError, h.onHandshake
	h.mu.Unlock()

	switch ev.kind {
	case eventConnect:
		if onConnect != nil {
			onConnect(ev.info)
		}
	case eventMessage:
		if onMessage != nil {
			onMessage(ev.info, Message{Type: MessageType(ev.opcode), Data: ev.data})
		}
	case eventDisconnect:
		if onDisconnect != nil {
			onDisconnect(ev.info, ev.closeCode, string(ev.data))
		}
	case eventError:
		if onError != nil {
			onError(ev.info, errors.New("nexus: "+string(ev.data)))
		}
	case eventHandshake:
		s.decide(ev.info, onHandshake, onError)
	}
}

// decide answers a handshake request with what the handler says: nil
// accepts, a *RejectError answers with its status, any other error 500.
func (s *Server) decide(request *Client, onHandshake func(*Client) error, onError func(*Client, error)) {
	var verdict error
	if onHandshake != nil {
		verdict = onHandshake(request)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.native == nil {
		return
	}
	var err error
	var reject *RejectError
	switch {
	case verdict == nil:
		_, err = check("accept", func() int { return s.native.Accept(uint64(request.ID)) })
		if err != nil {
			delete(s.requests, request.ID)
		}
	case errors.As(verdict, &reject):
		delete(s.requests, request.ID)
		_, err = check("reject", func() int { return s.native.Reject(uint64(request.ID), reject.Status, reject.Body) })
	default:
		delete(s.requests, request.ID)
		_, err = check("reject", func() int { return s.native.Reject(uint64(request.ID), 500, "") })
	}
	if err != nil && onError != nil {
		s.mu.Unlock()
		onError(request, err)
		s.mu.Lock()
	}
}

// clientInfo reads what the server knows of a client. Caller holds s.mu.
func (s *Server) clientInfo(id ClientID) (*Client, error) {
	info, err := value("client info", func() native.NxWsClientInfo { return s.native.Client_info(uint64(id)) })
	if err != nil {
		return nil, err
	}
	defer native.DeleteNxWsClientInfo(info)
	c := &Client{
		ID:          id,
		Peer:        info.GetPeer(),
		Path:        info.GetPath(),
		RawQuery:    info.GetQuery(),
		Origin:      info.GetOrigin(),
		Subprotocol: info.GetSubprotocol(),
		Header:      parseHeaders(info.Headers()),
		Compressed:  info.GetCompressed() != 0,
		server:      s,
	}
	if ms := info.GetConnected_at_ms(); ms > 0 {
		c.ConnectedAt = time.UnixMilli(ms)
	}
	return c, nil
}

// parseHeaders reads "Name: value\r\n" lines into canonical keys.
func parseHeaders(raw []byte) http.Header {
	h := make(http.Header)
	for _, line := range strings.Split(string(raw), "\r\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		h.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)), strings.TrimSpace(val))
	}
	return h
}
