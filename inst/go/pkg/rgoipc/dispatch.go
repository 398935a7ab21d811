package rgoipc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Version is the mangoro version reported by the info reply.
const Version = "0.1.0"

// ProtocolVersion is the wire protocol version reported by the info reply.
const ProtocolVersion = 1

// Info is the JSON payload of an info (MsgInfo) reply.
type Info struct {
	// Protocol is ProtocolVersion.
	Protocol int `json:"protocol"`
	// Server is always "rgoipc".
	Server string `json:"server"`
	// Version is the mangoro version (Version).
	Version string `json:"version"`
	// MaxMessageSize is the largest request the server accepts, in bytes;
	// clients check it before sending.
	MaxMessageSize int64 `json:"max_message_size"`
	// Functions is the number of registered functions.
	Functions int `json:"functions"`
}

// HandleMessage answers one request envelope and appends the reply
// envelope to dst (which may be nil), returning the extended slice. It
// never panics: malformed requests, unknown functions, argument mismatches,
// handler errors and handler panics all become MsgError replies. Each
// server worker calls it; it is exported for tests and custom transports.
func (s *Server) HandleMessage(ctx context.Context, req []byte, dst []byte) (reply []byte) {
	// Handler panics are caught closer to the handler; this is the last
	// line, so that no request can take the server down.
	defer func() {
		if p := recover(); p != nil {
			s.logf("internal error: %v\n%s", p, debug.Stack())
			reply = errorReply(dst, "", fmt.Sprintf("rgoipc: internal error: %v", p))
		}
	}()
	env, err := DecodeEnvelope(req)
	if err != nil {
		return errorReply(dst, "", err.Error())
	}
	switch env.Type {
	case MsgCall:
		return s.call(ctx, env.Name, env.Payload, dst)
	case MsgManifest:
		m, err := s.reg.Manifest()
		if err != nil {
			return errorReply(dst, "", err.Error())
		}
		return (&Envelope{Type: MsgManifest, Payload: m}).Encode(dst)
	case MsgInfo:
		info, _ := json.Marshal(Info{
			Protocol:       ProtocolVersion,
			Server:         "rgoipc",
			Version:        Version,
			MaxMessageSize: s.maxMsg,
			Functions:      s.reg.Len(),
		})
		return (&Envelope{Type: MsgInfo, Payload: info}).Encode(dst)
	}
	return errorReply(dst, env.Name, fmt.Sprintf("rgoipc: unknown message type %d (this server knows 0 manifest, 1 call, 4 info)", uint8(env.Type)))
}

func errorReply(dst []byte, name, msg string) []byte {
	return appendHeader(dst, MsgError, name, msg)
}

// call runs one function call and appends the reply to dst.
func (s *Server) call(ctx context.Context, name string, payload []byte, dst []byte) []byte {
	e, err := s.reg.lookup(name)
	if err != nil {
		return errorReply(dst, name, err.Error())
	}
	in, err := decodeRecord(payload, s.mem)
	if err != nil {
		return errorReply(dst, name, fmt.Sprintf("%s: %v", name, err))
	}
	defer in.Release()
	args, err := e.bind(in, s.mem)
	if err != nil {
		return errorReply(dst, name, err.Error())
	}
	defer args.rec.Release()

	out, err := s.invoke(ctx, e, args)
	if out != nil {
		defer out.Release()
	}
	if err != nil {
		return errorReply(dst, name, handlerMessage(name, err))
	}
	if out == nil {
		return errorReply(dst, name, name+": handler returned no result")
	}
	buf := bytes.NewBuffer(dst) // appends after what dst holds
	buf.Grow(HeaderSize + len(name) + streamSizeHint(out))
	buf.Write(appendHeader(buf.AvailableBuffer(), MsgResult, name, ""))
	if err := writeStream(buf, out, s.mem); err != nil {
		return errorReply(dst, name, fmt.Sprintf("%s: %v", name, err))
	}
	return buf.Bytes()
}

// invoke runs the handler, turning a panic into an error.
func (s *Server) invoke(ctx context.Context, e *entry, args *Args) (out arrow.RecordBatch, err error) {
	defer func() {
		if p := recover(); p != nil {
			if out != nil {
				out.Release()
				out = nil
			}
			err = &panicError{value: p}
			s.logf("%s: panic: %v\n%s", e.name, p, debug.Stack())
		}
	}()
	return e.h.ServeArrow(ctx, args)
}

type panicError struct{ value any }

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// handlerMessage formats a handler's error for the client, making sure it
// starts with the function name.
func handlerMessage(name string, err error) string {
	msg := err.Error()
	if _, isPanic := err.(*panicError); !isPanic && strings.HasPrefix(msg, name+": ") {
		return msg
	}
	return name + ": " + msg
}
