// Package wire is the mangoro message format: the envelope every message
// travels in, the message types, the error codes and the info document. The
// format is specified in inst/WIRE.md; this package implements it and says
// nothing the specification does not.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed reports an envelope (or Arrow stream) that cannot be
// decoded: truncated, inconsistent lengths, or garbage.
var ErrMalformed = errors.New("rgoipc: malformed message")

// MsgType is the first byte of every envelope and says what the message is.
type MsgType uint8

// Message types of the wire protocol. A request carries MsgManifest,
// MsgCall or MsgInfo; a reply carries MsgManifest, MsgResult, MsgError or
// MsgInfo.
const (
	// MsgManifest asks for (request) or carries (reply) the manifest JSON.
	MsgManifest MsgType = 0
	// MsgCall calls the function Name with the Arrow IPC stream Payload as
	// its arguments.
	MsgCall MsgType = 1
	// MsgResult carries a call's result as a complete Arrow IPC stream.
	MsgResult MsgType = 2
	// MsgError carries a UTF-8 error message in Error.
	MsgError MsgType = 3
	// MsgInfo asks for (request) or carries (reply) the server info JSON.
	// Servers that predate it answer MsgError.
	MsgInfo MsgType = 4
	// MsgCancel asks the server to cancel the call whose id is Name
	// (request); the reply is an empty MsgCancel whether or not the id was
	// known.
	MsgCancel MsgType = 5
)

// String returns the lower-case name of the message type.
func (t MsgType) String() string {
	switch t {
	case MsgManifest:
		return "manifest"
	case MsgCall:
		return "call"
	case MsgResult:
		return "result"
	case MsgError:
		return "error"
	case MsgInfo:
		return "info"
	case MsgCancel:
		return "cancel"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Layout of the envelope: inst/WIRE.md, "Envelope".
const (
	typeSize = 1
	lenSize  = 4
	// HeaderSize is the size of an envelope with empty name, error and
	// payload: the smallest valid message.
	HeaderSize = typeSize + 2*lenSize
)

// Envelope is one protocol message. Payload is an Arrow IPC stream for
// calls and results and JSON for manifest and info replies.
type Envelope struct {
	// Type says what the message is.
	Type MsgType
	// Name is the function called or answered ("" when not applicable).
	Name string
	// Error is the UTF-8 error message of a MsgError reply.
	Error string
	// Payload is the Arrow IPC stream or JSON document.
	Payload []byte
}

// Size returns the number of bytes Encode appends.
func (e *Envelope) Size() int {
	return HeaderSize + len(e.Name) + len(e.Error) + len(e.Payload)
}

// Encode appends the wire form of e to dst and returns the extended slice.
func (e *Envelope) Encode(dst []byte) []byte {
	dst = AppendHeader(dst, e.Type, e.Name, e.Error)
	return append(dst, e.Payload...)
}

// AppendHeader appends everything but the payload, so a reply can stream
// its payload straight after the header without a copy.
func AppendHeader(dst []byte, t MsgType, name, msg string) []byte {
	dst = append(dst, byte(t))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(name)))
	dst = append(dst, name...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(msg)))
	return append(dst, msg...)
}

// Decode parses b. Payload aliases b (no copy); Name and Error are
// copied. Lengths are checked against len(b) before use, so a hostile
// length never causes an allocation or a panic; any inconsistency returns
// an error wrapping ErrMalformed.
func Decode(b []byte) (Envelope, error) {
	var e Envelope
	if len(b) < HeaderSize {
		return e, fmt.Errorf("%w: %d bytes is shorter than the %d-byte header", ErrMalformed, len(b), HeaderSize)
	}
	e.Type = MsgType(b[0])
	rest := b[typeSize:]
	name, rest, err := readField(rest, "name")
	if err != nil {
		return Envelope{}, err
	}
	msg, rest, err := readField(rest, "error")
	if err != nil {
		return Envelope{}, err
	}
	e.Name = string(name)
	e.Error = string(msg)
	e.Payload = rest
	return e, nil
}

// readField reads one length-prefixed field from b.
func readField(b []byte, what string) (field, rest []byte, err error) {
	if len(b) < lenSize {
		return nil, nil, fmt.Errorf("%w: truncated %s length", ErrMalformed, what)
	}
	n := binary.BigEndian.Uint32(b)
	b = b[lenSize:]
	if uint64(n) > uint64(len(b)) {
		return nil, nil, fmt.Errorf("%w: %s length %d exceeds the %d bytes left", ErrMalformed, what, n, len(b))
	}
	return b[:n], b[n:], nil
}
