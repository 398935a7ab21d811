package rgoipc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"mangoro/internal/wire"
)

// Version is the mangoro version this package belongs to, reported by the
// server's info reply. A test ties it to the R package's DESCRIPTION.
const Version = "0.1.0"

// handleMessage answers one request envelope (inst/WIRE.md) and appends the
// reply envelope to dst (which may be nil), returning the extended slice.
// It never panics: malformed requests, bad names, unknown functions,
// argument mismatches, handler errors and handler panics all become error
// replies with their code. Each server worker calls it.
func (s *Server) handleMessage(ctx context.Context, req []byte, dst []byte) (reply []byte) {
	// Handler panics are caught closer to the handler; this is the last
	// line, so that no request can take the server down.
	defer func() {
		if p := recover(); p != nil {
			s.logf("internal error: %v\n%s", p, debug.Stack())
			reply = wire.AppendError(dst, "", fmt.Sprintf("rgoipc: internal error: %v", p), wire.CodeHandler)
		}
	}()
	// The transports enforce the limit; inproc does not, so check here too.
	if int64(len(req)) > s.maxMsg {
		return wire.AppendError(dst, "", fmt.Sprintf("rgoipc: request of %d bytes is over the limit of %d", len(req), s.maxMsg), wire.CodeTooLarge)
	}
	env, err := wire.Decode(req)
	if err != nil {
		return wire.AppendError(dst, "", err.Error(), wire.CodeMalformed)
	}
	switch env.Type {
	case wire.MsgCall:
		if why := wire.CheckName(env.Name); why != "" {
			return wire.AppendError(dst, "", fmt.Sprintf("rgoipc: function name %s %s", wire.QuoteName(env.Name), why), wire.CodeBadName)
		}
		return s.call(ctx, env.Name, env.Payload, dst)
	case msgShmCall: // shared memory path (shmcall.go)
		return s.shmCall(ctx, &env, dst)
	case wire.MsgManifest:
		m, err := s.reg.manifestJSON()
		if err != nil {
			return wire.AppendError(dst, "", err.Error(), wire.CodeHandler)
		}
		return (&wire.Envelope{Type: wire.MsgManifest, Payload: m}).Encode(dst)
	case wire.MsgInfo:
		info, _ := json.Marshal(wire.Info{
			Protocol:       wire.ProtocolVersion,
			Server:         "rgoipc",
			Version:        Version,
			MaxMessageSize: s.maxMsg,
			Functions:      s.reg.len(),
			Features:       shmFeatures(),
		})
		return (&wire.Envelope{Type: wire.MsgInfo, Payload: info}).Encode(dst)
	}
	return wire.AppendError(dst, "", fmt.Sprintf("rgoipc: unknown message type %d (this server knows 0 manifest, 1 call, 4 info)", uint8(env.Type)), wire.CodeUnknownType)
}

// call runs one function call and appends the reply to dst.
func (s *Server) call(ctx context.Context, name string, payload []byte, dst []byte) []byte {
	e, err := s.reg.lookup(name)
	if err != nil {
		return wire.AppendError(dst, name, err.Error(), codeOf(err, wire.CodeUnknownFunction))
	}
	in, err := decodeRecord(payload, s.mem)
	if err != nil {
		return wire.AppendError(dst, name, fmt.Sprintf("%s: %v", name, err), wire.CodeMalformed)
	}
	defer in.Release()
	args, err := e.bind(in, s.mem)
	if err != nil {
		return wire.AppendError(dst, name, err.Error(), codeOf(err, wire.CodeBadArguments))
	}
	defer args.rec.Release()

	out, err := s.invoke(ctx, e, args)
	if out != nil {
		defer out.Release()
	}
	if err != nil {
		return wire.AppendError(dst, name, handlerMessage(name, err), s.handlerCode(name, err))
	}
	if out == nil {
		return wire.AppendError(dst, name, name+": handler returned no result", wire.CodeHandler)
	}
	buf := bytes.NewBuffer(dst) // appends after what dst holds
	buf.Grow(wire.HeaderSize + len(name) + streamSizeHint(out))
	buf.Write(wire.AppendHeader(buf.AvailableBuffer(), wire.MsgResult, name, ""))
	if err := writeStream(buf, out, s.mem); err != nil {
		return wire.AppendError(dst, name, fmt.Sprintf("%s: %v", name, err), wire.CodeHandler)
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
			s.logf("%s: %v\n%s", e.name, err, debug.Stack())
		}
	}()
	return e.h.ServeArrow(ctx, args)
}

// panicError is a recovered handler panic; its message is "panic: <value>"
// with one "panic: " however the value reads.
type panicError struct{ value any }

func (p *panicError) Error() string {
	return "panic: " + strings.TrimPrefix(fmt.Sprint(p.value), "panic: ")
}

// codeOf returns the code of a callError in err's chain, else def.
func codeOf(err error, def string) string {
	var ce *callError
	if errors.As(err, &ce) && ce.code != "" {
		return ce.code
	}
	return def
}

// handlerCode returns the code of a handler's error: "panic", the code
// given with Coded, that of an rgoipc argument check (Func's scalar
// arguments), or "handler".
func (s *Server) handlerCode(name string, err error) string {
	var pe *panicError
	if errors.As(err, &pe) {
		return wire.CodePanic
	}
	if code := codeOf(err, ""); code != "" {
		return code
	}
	var ce *codedError
	if errors.As(err, &ce) {
		if wire.ValidCode(ce.code) {
			return ce.code
		}
		s.logf("%s: error code %q is not [a-z][a-z0-9_]* of at most %d bytes; sent %q", name, ce.code, wire.MaxCodeLen, wire.CodeHandler)
	}
	return wire.CodeHandler
}

// handlerMessage formats a handler's error for the client, making sure it
// starts with the function name.
func handlerMessage(name string, err error) string {
	msg := err.Error()
	var pe *panicError
	if !errors.As(err, &pe) && strings.HasPrefix(msg, name+": ") {
		return msg
	}
	return name + ": " + msg
}
