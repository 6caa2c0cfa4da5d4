package nexus

import (
	"net/http"
	"net/url"
	"time"
)

// Client is one connected client as a Server's handlers see it: the facts
// of its upgrade request, which do not change, and shortcuts to the
// server's operations. The same *Client comes to every handler of one
// connection, so it may serve as a map key.
type Client struct {
	ID          ClientID
	Peer        string      // "ip:port", "[ip6]:port"
	Path        string      // the request path, "/" at least
	RawQuery    string      // without '?'
	Origin      string      // "" when the request had none
	Subprotocol string      // chosen; "" when none (and during OnHandshake)
	Header      http.Header // the request headers
	ConnectedAt time.Time   // zero during OnHandshake
	Compressed  bool        // permessage-deflate was agreed

	server *Server
}

// Query parses RawQuery.
func (c *Client) Query() url.Values {
	v, _ := url.ParseQuery(c.RawQuery)
	return v
}

// Send queues a text message to the client.
func (c *Client) Send(text string) error { return c.server.Send(c.ID, text) }

// SendBinary queues a binary message to the client.
func (c *Client) SendBinary(data []byte) error { return c.server.SendBinary(c.ID, data) }

// SendMessage queues m to the client.
func (c *Client) SendMessage(m Message) error { return c.server.SendMessage(c.ID, m) }

// Disconnect starts the close handshake (see Server.Disconnect).
func (c *Client) Disconnect(code int, reason string) error {
	return c.server.Disconnect(c.ID, code, reason)
}

// Subscribe adds the client to a channel.
func (c *Client) Subscribe(channel string) error { return c.server.Subscribe(c.ID, channel) }

// Unsubscribe takes the client out of a channel.
func (c *Client) Unsubscribe(channel string) error { return c.server.Unsubscribe(c.ID, channel) }

// Channels lists the channels the client is subscribed to.
func (c *Client) Channels() ([]string, error) { return c.server.Channels(c.ID) }

// UserData is what SetUserData kept with the client.
func (c *Client) UserData() ([]byte, error) { return c.server.UserData(c.ID) }

// SetUserData keeps data with the client (at most 64 KiB).
func (c *Client) SetUserData(data []byte) error { return c.server.SetUserData(c.ID, data) }
