package rgoipc

import (
	"bytes"
	"context"
	"encoding/json"
	"log"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"go.nanomsg.org/mangos/v3"

	"mangoro/internal/wire"
)

// cancelRegistry: "wait" blocks until its context ends (announcing on
// started) and returns the context's error; "deadline" returns how many ms
// its context has left (-1: no deadline); runs counts calls of either.
func cancelRegistry(t *testing.T, started chan<- struct{}, runs *atomic.Int64) *Registry {
	t.Helper()
	reg := NewRegistry()
	if err := reg.HandleFunc("wait", Signature{Returns: Any()}, func(ctx context.Context, _ *Args) (arrow.RecordBatch, error) {
		runs.Add(1)
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	if err := reg.HandleFunc("deadline", Signature{Returns: Float64()}, func(ctx context.Context, a *Args) (arrow.RecordBatch, error) {
		runs.Add(1)
		left := -1.0
		if d, ok := ctx.Deadline(); ok {
			left = float64(time.Until(d).Milliseconds())
		}
		arr := f64(a.Mem(), left)
		defer arr.Release()
		return NewResult(a.Mem()).Column("result", arr).Record()
	}); err != nil {
		t.Fatal(err)
	}
	return reg
}

func withHeader(typ wire.MsgType, name string, h wire.Header) []byte {
	return (&wire.Envelope{Type: typ, Name: name, Error: wire.EncodeHeader(h)}).Encode(nil)
}

func serverInfo(t *testing.T, s *Server, h wire.Header) wire.Info {
	t.Helper()
	env, _ := readReply(t, s.handleMessage(context.Background(), withHeader(wire.MsgInfo, "", h), nil))
	var info wire.Info
	if err := json.Unmarshal(env.Payload, &info); err != nil {
		t.Fatalf("info %q: %v", env.Payload, err)
	}
	return info
}

// TestCancelEndsCall: a cancel (type 5) with the call's id cancels the
// handler's context; the call answers code "cancelled", busy goes back to
// 0, and the id is forgotten. Unknown ids get the same empty ack.
func TestCancelEndsCall(t *testing.T) {
	started := make(chan struct{}, 1)
	var runs atomic.Int64
	s := NewServer(cancelRegistry(t, started, &runs), WithLogger(nil), WithWorkers(3))
	done := make(chan []byte)
	go func() {
		done <- s.handleMessage(context.Background(), withHeader(wire.MsgCall, "wait", wire.Header{ID: "call-1"}), nil)
	}()
	<-started
	if info := serverInfo(t, s, wire.Header{}); info.Busy != 1 || info.Workers != 3 {
		t.Errorf("during the call: busy %d of %d workers, want 1 of 3", info.Busy, info.Workers)
	}
	for _, id := range []string{"unknown", "call-1", "call-1"} {
		ack := s.handleMessage(context.Background(), withHeader(wire.MsgCancel, id, wire.Header{}), nil)
		if want := (&wire.Envelope{Type: wire.MsgCancel}).Encode(nil); !bytes.Equal(ack, want) {
			t.Errorf("cancel %q: ack % x, want % x", id, ack, want)
		}
	}
	env, _ := readReply(t, <-done)
	if env.Type != wire.MsgError || wire.ErrorCode(env.Payload) != wire.CodeCancelled {
		t.Errorf("cancelled call: %v %q %s", env.Type, env.Error, env.Payload)
	}
	if info := serverInfo(t, s, wire.Header{}); info.Busy != 0 {
		t.Errorf("after the call: busy %d", info.Busy)
	}
	s.callsMu.Lock()
	n := len(s.calls)
	s.callsMu.Unlock()
	if n != 0 {
		t.Errorf("%d call ids still registered", n)
	}
}

// TestDeadlinePropagates: timeout_ms becomes the handler's deadline; a
// handler that waits on its context ends with "deadline_exceeded"; a call
// whose deadline passed before it started is not run.
func TestDeadlinePropagates(t *testing.T) {
	started := make(chan struct{}, 1)
	var runs atomic.Int64
	s := NewServer(cancelRegistry(t, started, &runs), WithLogger(nil))
	tests := []struct {
		name string
		h    wire.Header
		code string  // error code, "" for a result
		min  float64 // least ms left the handler may see
		max  float64
		runs int64
	}{
		{"deadline", wire.Header{}, "", -1, -1, 1},
		{"deadline", wire.Header{ID: "x", Timeout: 5 * time.Second, HasTimeout: true}, "", 4000, 5000, 1},
		{"deadline", wire.Header{Timeout: 0, HasTimeout: true}, wire.CodeDeadlineExceeded, 0, 0, 0},
		{"wait", wire.Header{Timeout: 50 * time.Millisecond, HasTimeout: true}, wire.CodeDeadlineExceeded, 0, 0, 1},
	}
	for _, tc := range tests {
		runs.Store(0)
		if tc.name == "wait" {
			go func() { <-started }()
		}
		env, rec := readReply(t, s.handleMessage(context.Background(), withHeader(wire.MsgCall, tc.name, tc.h), nil))
		if got := runs.Load(); got != tc.runs {
			t.Errorf("%s %+v: handler ran %d times, want %d", tc.name, tc.h, got, tc.runs)
		}
		if tc.code != "" {
			if env.Type != wire.MsgError || wire.ErrorCode(env.Payload) != tc.code {
				t.Errorf("%s %+v: %v %q %s, want code %s", tc.name, tc.h, env.Type, env.Error, env.Payload, tc.code)
			}
			continue
		}
		if rec == nil {
			t.Fatalf("%s %+v: %q", tc.name, tc.h, env.Error)
		}
		left := rec.Column(0).(interface{ Value(int) float64 }).Value(0)
		rec.Release()
		if left < tc.min || left > tc.max {
			t.Errorf("%s %+v: handler saw %v ms left, want %v..%v", tc.name, tc.h, left, tc.min, tc.max)
		}
	}
	env, _ := readReply(t, s.handleMessage(context.Background(),
		(&wire.Envelope{Type: wire.MsgCall, Name: "deadline", Error: `{"timeout_ms":-5}`}).Encode(nil), nil))
	if wire.ErrorCode(env.Payload) != wire.CodeMalformed {
		t.Errorf("negative timeout: %q %s", env.Error, env.Payload)
	}
}

// TestToken: a server with a token answers every request without the
// right one with "unauthorized" and nothing else; with it, it serves. The
// token is in no log line or reply.
func TestToken(t *testing.T) {
	const token = "s3cret-token-value"
	var logs bytes.Buffer
	s := NewServer(testRegistry(t), WithLogger(log.New(&logs, "", 0)), withToken(token))
	bad := []wire.Header{{}, {Token: "wrong"}, {Token: token[:len(token)-1]}, {Token: token + "x"}}
	reqs := map[string]func(h wire.Header) []byte{
		"info":     func(h wire.Header) []byte { return withHeader(wire.MsgInfo, "", h) },
		"manifest": func(h wire.Header) []byte { return withHeader(wire.MsgManifest, "", h) },
		"call":     func(h wire.Header) []byte { return withHeader(wire.MsgCall, "panic", h) },
		"unknown":  func(h wire.Header) []byte { return withHeader(wire.MsgCall, "nosuch", h) },
		"cancel":   func(h wire.Header) []byte { return withHeader(wire.MsgCancel, "x", h) },
		"type9":    func(h wire.Header) []byte { return withHeader(9, "", h) },
	}
	want := wire.AppendError(nil, "", "rgoipc: unauthorized", wire.CodeUnauthorized)
	var replies [][]byte
	for what, mk := range reqs {
		for _, h := range bad {
			if got := s.handleMessage(context.Background(), mk(h), nil); !bytes.Equal(got, want) {
				t.Errorf("%s with token %q: % x, want the unauthorized reply", what, h.Token, got)
			}
		}
		replies = append(replies, s.handleMessage(context.Background(), mk(wire.Header{Token: token}), nil))
	}
	for _, junk := range [][]byte{nil, {1, 2}, (&wire.Envelope{Type: wire.MsgInfo, Error: "not json " + token}).Encode(nil)} {
		if got := s.handleMessage(context.Background(), junk, nil); !bytes.Equal(got, want) {
			t.Errorf("malformed request % x: % x, want the unauthorized reply", junk, got)
		}
	}
	if info := serverInfo(t, s, wire.Header{Token: token}); !strings.Contains(strings.Join(info.Features, ","), "auth") {
		t.Errorf("info with the token: features %v, want auth", info.Features)
	}
	for _, r := range replies {
		if env, _ := wire.Decode(r); wire.ErrorCode(env.Payload) == wire.CodeUnauthorized || bytes.Contains(r, []byte(token)) {
			t.Errorf("authorized request answered %q %s", env.Error, env.Payload)
		}
	}
	if !strings.Contains(logs.String(), "requested panic") {
		t.Errorf("the authorized panic call was not logged: %q", logs.String())
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the token appears in the log: %q", logs.String())
	}
}

// TestCancelWhileAllBusy: over a real socket, with the only worker busy, a
// cancel is still read and acknowledged at once, and cancels both the
// running call and one queued behind it (which never runs).
func TestCancelWhileAllBusy(t *testing.T) {
	started := make(chan struct{}, 2)
	var runs atomic.Int64
	url := "inproc://rgoipc-cancel-busy"
	startServer(t, cancelRegistry(t, started, &runs), url, WithWorkers(1))
	client := dialClient(t, url)
	open := func() mangos.Context {
		c, err := client.OpenContext()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if err := c.SetOption(mangos.OptionRecvDeadline, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		return c
	}
	running, queued := open(), open()
	if err := running.Send(withHeader(wire.MsgCall, "wait", wire.Header{ID: "running"})); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := queued.Send(withHeader(wire.MsgCall, "wait", wire.Header{ID: "queued"})); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"queued", "running"} {
		ack := roundTrip(t, open(), withHeader(wire.MsgCancel, id, wire.Header{}))
		if env, _ := readReply(t, ack); env.Type != wire.MsgCancel {
			t.Fatalf("cancel %s: reply %v %q", id, env.Type, env.Error)
		}
	}
	for name, c := range map[string]mangos.Context{"running": running, "queued": queued} {
		b, err := c.Recv()
		if err != nil {
			t.Fatalf("%s call: %v", name, err)
		}
		if env, _ := readReply(t, b); wire.ErrorCode(env.Payload) != wire.CodeCancelled {
			t.Errorf("%s call: %q %s, want code cancelled", name, env.Error, env.Payload)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1 (the queued call must not run)", n)
	}
}
