package nexus

import "strconv"

// MessageType says how a message's bytes are meant: text (UTF-8) or binary
// (RFC 6455 §5.6). The values are the opcodes.
type MessageType int

// The two kinds of data message.
const (
	Text   MessageType = 1
	Binary MessageType = 2
)

func (t MessageType) String() string {
	switch t {
	case Text:
		return "text"
	case Binary:
		return "binary"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// Message is one whole WebSocket message. Data is the library's own copy:
// handlers may keep it.
type Message struct {
	Type MessageType
	Data []byte
}

// TextMessage and BinaryMessage make a Message from a string or bytes.
func TextMessage(text string) Message { return Message{Type: Text, Data: []byte(text)} }

// BinaryMessage makes a binary Message; data is not copied.
func BinaryMessage(data []byte) Message { return Message{Type: Binary, Data: data} }

// Text is the payload as a string (a copy).
func (m Message) Text() string { return string(m.Data) }

// String is the payload as a string, as Text.
func (m Message) String() string { return string(m.Data) }

// IsText reports whether the message is a text message.
func (m Message) IsText() bool { return m.Type == Text }

// check refuses a type the C API has no message for. (Text that is not
// UTF-8 is refused by the library itself, with CodeUTF8.)
func (m Message) check(op string) error {
	if m.Type != Text && m.Type != Binary {
		return &Error{Op: op, Code: CodeInvalidArgument, Detail: "message type must be Text or Binary"}
	}
	return nil
}
