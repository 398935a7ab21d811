// Package rgoipctest runs rgoipc servers in tests, in the spirit of
// net/http/httptest: NewServer serves a Registry on an in-process transport
// (mangos inproc://, no socket file, no port), and Call sends a call the way
// R does and decodes the reply.
//
//	srv := rgoipctest.NewServer(reg)
//	defer srv.Close()
//	out, err := srv.Call("add", rec) // rec's columns are the arguments
//	if err != nil { ... }            // *rgoipctest.Error for an error reply
//	defer out.Release()
//
// CallMessage and ParseReply build and read the same messages for a server
// reached some other way, such as a program started by the test.
package rgoipctest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/req"
	_ "go.nanomsg.org/mangos/v3/transport/inproc"

	"mangoro/internal/wire"
	"mangoro/pkg/rgoipc"
)

// Server is an rgoipc.Server listening on an inproc:// URL, with a REQ
// client socket dialled to it.
type Server struct {
	// URL is the inproc:// address the server listens on; other mangos
	// sockets of the test process may dial it too.
	URL string

	srv    *rgoipc.Server
	client mangos.Socket
	served chan error
}

var serial atomic.Int64

// timeout bounds every round trip, so a test that loses a reply fails
// instead of hanging.
const timeout = 30 * time.Second

// NewServer starts a server for reg on a fresh inproc:// URL. It logs
// nowhere unless opts include rgoipc.WithLogger. Like httptest.NewServer it
// panics when it cannot start (for example when a registration in reg
// failed). Close it when done.
func NewServer(reg *rgoipc.Registry, opts ...rgoipc.Option) *Server {
	s := &Server{
		URL:    fmt.Sprintf("inproc://rgoipctest-%d", serial.Add(1)),
		srv:    rgoipc.NewServer(reg, append([]rgoipc.Option{rgoipc.WithLogger(nil)}, opts...)...),
		served: make(chan error, 1),
	}
	if _, err := s.srv.Listen(s.URL); err != nil {
		panic(fmt.Sprintf("rgoipctest: %v", err))
	}
	go func() { s.served <- s.srv.Serve() }()
	c, err := req.NewSocket()
	if err == nil {
		err = c.SetOption(mangos.OptionRecvDeadline, timeout)
	}
	if err == nil {
		err = c.Dial(s.URL)
	}
	if err != nil {
		_ = s.srv.Close()
		panic(fmt.Sprintf("rgoipctest: client: %v", err))
	}
	s.client = c
	return s
}

// Close closes the client and the server at once.
func (s *Server) Close() {
	_ = s.client.Close()
	_ = s.srv.Close()
	<-s.served
}

// Do sends the message msg and returns the raw reply. Safe for concurrent
// use: each call has its own REQ context.
func (s *Server) Do(msg []byte) ([]byte, error) {
	ctx, err := s.client.OpenContext()
	if err != nil {
		return nil, fmt.Errorf("rgoipctest: %w", err)
	}
	defer ctx.Close()
	if err := ctx.Send(msg); err != nil {
		return nil, fmt.Errorf("rgoipctest: send: %w", err)
	}
	b, err := ctx.Recv()
	if err != nil {
		return nil, fmt.Errorf("rgoipctest: receive: %w", err)
	}
	return b, nil
}

// Call calls the function fn with the columns of args as its arguments and
// returns the result record, which the caller releases. An error reply is
// returned as an *Error.
func (s *Server) Call(fn string, args arrow.RecordBatch) (arrow.RecordBatch, error) {
	msg, err := CallMessage(fn, args)
	if err != nil {
		return nil, err
	}
	reply, err := s.Do(msg)
	if err != nil {
		return nil, err
	}
	return ParseReply(reply)
}

// Error is an error reply: the server ran but the call failed.
type Error struct {
	// Name is the function the reply is for ("" when the request was not
	// a call of a valid name).
	Name string
	// Message is the error text, as R shows it.
	Message string
	// Code classifies the error ("bad_arguments", "panic", a handler's
	// own code; see rgoipc.Coded), "other" when the server sent none.
	Code string
}

// Error returns the message with the code: "<message> [<code>]".
func (e *Error) Error() string { return e.Message + " [" + e.Code + "]" }

// CallMessage encodes a call of fn with the columns of args as its
// arguments, byte for byte what R sends.
func CallMessage(fn string, args arrow.RecordBatch) ([]byte, error) {
	var payload bytes.Buffer
	w := ipc.NewWriter(&payload, ipc.WithSchema(args.Schema()))
	if err := w.Write(args); err != nil {
		return nil, fmt.Errorf("rgoipctest: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("rgoipctest: %w", err)
	}
	return (&wire.Envelope{Type: wire.MsgCall, Name: fn, Payload: payload.Bytes()}).Encode(nil), nil
}

// ParseReply decodes the reply to a call: the result record (released by
// the caller), or an *Error for an error reply.
func ParseReply(b []byte) (arrow.RecordBatch, error) {
	env, err := wire.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("rgoipctest: %w", err)
	}
	switch env.Type {
	case wire.MsgError:
		return nil, &Error{Name: env.Name, Message: env.Error, Code: wire.ErrorCode(env.Payload)}
	case wire.MsgResult:
	default:
		return nil, fmt.Errorf("rgoipctest: reply of type %v, want a result", env.Type)
	}
	r, err := ipc.NewReader(bytes.NewReader(env.Payload), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("rgoipctest: result stream: %w", err)
	}
	defer r.Release()
	if !r.Next() {
		if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("rgoipctest: result stream: %w", err)
		}
		return nil, errors.New("rgoipctest: result stream has no record")
	}
	rec := r.RecordBatch()
	rec.Retain()
	return rec, nil
}
