package rgoipc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
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
	// A server with a token tells a request without it nothing at all:
	// not the size limit, not whether the envelope was well formed.
	if s.token != nil {
		env, err := wire.Decode(req)
		var h wire.Header
		if err == nil {
			h, err = wire.DecodeHeader(env.Error)
		}
		if err != nil || !s.authorized(h.Token) {
			return wire.AppendError(dst, "", "rgoipc: unauthorized", wire.CodeUnauthorized)
		}
	}
	// The transports enforce the limit; inproc does not, so check here too.
	if int64(len(req)) > s.maxMsg {
		return wire.AppendError(dst, "", fmt.Sprintf("rgoipc: request of %d bytes is over the limit of %d", len(req), s.maxMsg), wire.CodeTooLarge)
	}
	env, err := wire.Decode(req)
	if err != nil {
		return wire.AppendError(dst, "", err.Error(), wire.CodeMalformed)
	}
	h, err := wire.DecodeHeader(env.Error)
	if err != nil {
		return wire.AppendError(dst, "", err.Error(), wire.CodeMalformed)
	}
	switch env.Type {
	case wire.MsgCall:
		if why := wire.CheckName(env.Name); why != "" {
			return wire.AppendError(dst, "", fmt.Sprintf("rgoipc: function name %s %s", wire.QuoteName(env.Name), why), wire.CodeBadName)
		}
		return s.callWithHeader(ctx, h, env.Name, env.Payload, dst, nil)
	case msgShmCall: // shared memory path (shmcall.go)
		return s.shmCall(ctx, h, &env, dst)
	case wire.MsgCancel:
		s.cancelCall(env.Name)
		return (&wire.Envelope{Type: wire.MsgCancel}).Encode(dst)
	case wire.MsgManifest:
		m, err := s.reg.manifestJSON()
		if err != nil {
			return wire.AppendError(dst, "", err.Error(), wire.CodeHandler)
		}
		return (&wire.Envelope{Type: wire.MsgManifest, Payload: m}).Encode(dst)
	case wire.MsgInfo:
		info, _ := json.Marshal(s.info())
		return (&wire.Envelope{Type: wire.MsgInfo, Payload: info}).Encode(dst)
	}
	return wire.AppendError(dst, "", fmt.Sprintf("rgoipc: unknown message type %d (this server knows 0 manifest, 1 call, 4 info, 5 cancel, 6 shared-memory call)", uint8(env.Type)), wire.CodeUnknownType)
}

// info is the server's info reply.
func (s *Server) info() wire.Info {
	features := append([]string{"codes", "header", "cancel"}, shmFeatures()...)
	if s.token != nil {
		features = append(features, "auth")
	}
	return wire.Info{
		Protocol:       wire.ProtocolVersion,
		Server:         "rgoipc",
		Version:        Version,
		MaxMessageSize: s.maxMsg,
		Functions:      s.reg.len(),
		Features:       features,
		Workers:        s.workers,
		Busy:           int(s.busy.Load()),
	}
}

// callWithHeader runs a call under the header's deadline (a callCtx),
// registered under its id (when it has one) so a MsgCancel can cancel it.
// The registration ends with the call.
func (s *Server) callWithHeader(ctx context.Context, h wire.Header, name string, payload []byte, dst []byte, d *detached) []byte {
	if !h.HasTimeout && h.ID == "" {
		return s.callInSlot(ctx, name, payload, dst, d) // a 0.1.0 client: nothing to set up
	}
	c := newCallCtx(ctx, h.Timeout, h.HasTimeout)
	defer c.release()
	if h.ID != "" {
		s.callsMu.Lock()
		s.calls[h.ID] = c
		_, early := s.tomb[h.ID]
		s.callsMu.Unlock()
		if early {
			c.cancel() // its cancel overtook it (another receiver read it first)
		}
		defer s.forgetCall(h.ID, c)
	}
	return s.callInSlot(c, name, payload, dst, d)
}

// forgetCall ends call id's registration (unless a later call took the id).
func (s *Server) forgetCall(id string, c *callCtx) {
	s.callsMu.Lock()
	if s.calls[id] == c {
		delete(s.calls, id)
	}
	s.callsMu.Unlock()
}

// callInSlot waits for a worker slot (or for ctx to end: a call cancelled
// or past its deadline while it queued is answered without running), then
// runs the call in it.
func (s *Server) callInSlot(ctx context.Context, name string, payload []byte, dst []byte, d *detached) []byte {
	select {
	case s.slots <- struct{}{}: // a free slot: no need to ask for ctx.Done (see callCtx)
	default:
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return notStarted(dst, name, ctxCode(ctx))
		}
	}
	s.procs.started(s.busy.Add(1))
	defer func() {
		s.procs.ended(s.busy.Add(-1))
		<-s.slots
	}()
	return s.call(ctx, name, payload, dst, d)
}

// cancelCall cancels the running call with this id; unknown ids (finished
// calls, calls never made) are ignored.
// An id not running now is remembered (the last maxTombstones of them):
// the cancel may have overtaken its call.
func (s *Server) cancelCall(id string) {
	s.callsMu.Lock()
	c := s.calls[id]
	if c == nil && wire.ValidID(id) {
		if _, ok := s.tomb[id]; !ok {
			if len(s.tombq) == maxTombstones {
				delete(s.tomb, s.tombq[0])
				s.tombq = s.tombq[1:]
			}
			s.tomb[id] = struct{}{}
			s.tombq = append(s.tombq, id)
		}
	}
	s.callsMu.Unlock()
	if c != nil {
		c.cancel()
	}
}

// maxTombstones bounds the ids of cancels that found no call.
const maxTombstones = 1024

// ctxCode is the code of a call whose context ended before or while it ran,
// "" while the context is live.
func ctxCode(ctx context.Context) string {
	switch {
	case ctx.Err() == nil:
		return ""
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return wire.CodeDeadlineExceeded
	}
	return wire.CodeCancelled
}

// call runs one function call and appends the reply to dst.
func (s *Server) call(ctx context.Context, name string, payload []byte, dst []byte, d *detached) []byte {
	e, err := s.reg.lookup(name)
	if err != nil {
		return wire.AppendError(dst, name, err.Error(), codeOf(err, wire.CodeUnknownFunction))
	}
	var out arrow.RecordBatch
	fh, _ := e.h.(*funcHandler)
	var room [4]reflect.Value // a direct call's arguments, on the stack
	if in, ok := directArgs(ctx, fh, &e.sig, payload, room[:0]); ok {
		// The request's bytes stay untouched until the reply is sent, so
		// the arguments (and a result aliasing them) live long enough.
		if code := ctxCode(ctx); code != "" {
			return notStarted(dst, name, code)
		}
		out, err = s.invokeDirect(e, fh, in)
	} else {
		rec, derr := decodeRecord(payload, s.mem)
		if derr != nil {
			return wire.AppendError(dst, name, fmt.Sprintf("%s: %v", name, derr), wire.CodeMalformed)
		}
		defer rec.Release()
		args, berr := e.bind(rec, s.mem)
		if berr != nil {
			return wire.AppendError(dst, name, berr.Error(), codeOf(berr, wire.CodeBadArguments))
		}
		defer args.rec.Release()
		// A call whose deadline passed (or that was cancelled) while it
		// queued is not run.
		if code := ctxCode(ctx); code != "" {
			return notStarted(dst, name, code)
		}
		out, err = s.invoke(ctx, e, args)
	}
	if out != nil {
		defer out.Release()
	}
	if err != nil {
		code := s.handlerCode(name, err)
		if c := ctxCode(ctx); c != "" && code == wire.CodeHandler {
			code = c // the handler gave up because its context ended
		}
		return wire.AppendError(dst, name, handlerMessage(name, err), code)
	}
	if out == nil {
		return wire.AppendError(dst, name, name+": handler returned no result", wire.CodeHandler)
	}
	buf := bytes.NewBuffer(dst) // appends after what dst holds
	hint := streamSizeHint(out)
	if d != nil {
		hint = 0 // most of it is detached: writeBatch grows buf by what stays
	}
	buf.Grow(wire.HeaderSize + len(name) + hint)
	buf.Write(wire.AppendHeader(buf.AvailableBuffer(), wire.MsgResult, name, ""))
	if err := writeStream(buf, out, s.mem, d); err != nil {
		if d != nil {
			d.bufs = nil
		}
		return wire.AppendError(dst, name, fmt.Sprintf("%s: %v", name, err), wire.CodeHandler)
	}
	if d != nil && len(d.bufs) > 0 {
		out.Retain() // d's buffers are out's: kept until shmCall has written them
		d.rec = out
	}
	return buf.Bytes()
}

// invoke runs the handler, turning a panic into an error.
func (s *Server) invoke(ctx context.Context, e *entry, args *Args) (out arrow.RecordBatch, err error) {
	defer s.recoverCall(e, &out, &err)
	return e.h.ServeArrow(ctx, args)
}

// invokeDirect runs a Func on the arguments of the direct path (direct.go).
func (s *Server) invokeDirect(e *entry, fh *funcHandler, in []reflect.Value) (out arrow.RecordBatch, err error) {
	defer s.recoverCall(e, &out, &err)
	return fh.finish(in, s.mem, &e.sig, noMask)
}

// recoverCall, deferred, turns a handler's panic into its call's error.
func (s *Server) recoverCall(e *entry, out *arrow.RecordBatch, err *error) {
	if p := recover(); p != nil {
		if *out != nil {
			(*out).Release()
			*out = nil
		}
		*err = &panicError{value: p}
		s.logf("%s: %v\n%s", e.name, *err, debug.Stack())
	}
}

// notStarted is the reply to a call whose context ended before it ran.
func notStarted(dst []byte, name, code string) []byte {
	return wire.AppendError(dst, name, fmt.Sprintf("%s: %s before the call started", name, strings.ReplaceAll(code, "_", " ")), code)
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
