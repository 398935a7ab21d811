//go:build linux

package rgoipc

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"mangoro/internal/shm"
	"mangoro/internal/wire"
)

// shmMsg is a type 6 call of fn: the stream at [off, off+n) of the arena h,
// the result on the socket.
func shmMsg(fn string, off, n uint64, handle []byte) []byte {
	return shmMsgReply(fn, off, n, 0, handle)
}

// shmMsgReply is shmMsg asking for results of at least replyMin bytes in
// shared memory.
func shmMsgReply(fn string, off, n, replyMin uint64, handle []byte) []byte {
	p := binary.LittleEndian.AppendUint64(nil, off)
	p = binary.LittleEndian.AppendUint64(p, n)
	p = binary.LittleEndian.AppendUint64(p, replyMin)
	return (&wire.Envelope{Type: msgShmCall, Name: fn, Payload: append(p, handle...)}).Encode(nil)
}

// arenaHolding is a client's arena of size bytes with body at offset off,
// removed when the test ends.
func arenaHolding(t *testing.T, body []byte, off, size uint64) *shm.Segment {
	t.Helper()
	seg, err := shm.Create(size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = seg.Unlink(); _ = seg.Close() })
	copy(seg.Payload()[off:], body)
	return seg
}

func TestShmCallReadsTheArenaInPlaceAndRefusesBadHandles(t *testing.T) {
	s := NewServer(testRegistry(t), WithLogger(nil))
	ctx := context.Background()
	m := memory.DefaultAllocator
	body := stream(t, record(col{"x", f64(m, 1.5, nil)}, col{"y", f64(m, 2.0, 3.0)}))
	seg := arenaHolding(t, body, 100, 4096)
	h := seg.Handle().AppendBinary(nil)
	n := uint64(len(body))

	forged := append([]byte(nil), h...)
	forged[len(forged)-1] ^= 1
	longer := seg.Handle()
	longer.Length *= 2
	refusals := []struct {
		name string
		msg  []byte
	}{
		{"forged name", shmMsg("add", 100, n, forged)},
		{"short payload", (&wire.Envelope{Type: msgShmCall, Name: "add", Payload: []byte{1, 2, 3}}).Encode(nil)},
		{"trailing byte", shmMsg("add", 100, n, append(append([]byte(nil), h...), 0))},
		{"length differs from the segment", shmMsg("add", 100, n, longer.AppendBinary(nil))},
		{"outside the arena", shmMsg("add", 4000, n, h)},
	}
	for _, tc := range refusals[:4] {
		t.Run(tc.name, func(t *testing.T) {
			env, _ := readReply(t, s.handleMessage(ctx, tc.msg, nil))
			if env.Type != wire.MsgError || wire.ErrorCode(env.Payload) != codeShmRefused {
				t.Fatalf("reply %v %q, want an error with code %s", env.Type, env.Error, codeShmRefused)
			}
		})
	}
	if _, err := os.Stat("/dev/shm" + seg.Name()); err != nil {
		t.Fatalf("a refused handle removed the name: %v", err)
	}
	for i := 0; i < 2; i++ { // first: opens and unlinks; second: the open arena
		env, rec := readReply(t, s.handleMessage(ctx, shmMsg("add", 100, n, h), nil))
		if env.Type != wire.MsgResult {
			t.Fatalf("call %d: %v %q", i, env.Type, env.Error)
		}
		if got := colString(t, rec, "result"); got != "[3.5 (null)]" {
			t.Errorf("call %d: result %s", i, got)
		}
		rec.Release()
		if _, err := os.Stat("/dev/shm" + seg.Name()); !os.IsNotExist(err) {
			t.Fatalf("the server did not unlink the arena's name: %v", err)
		}
	}
	tc := refusals[4]
	if env, _ := readReply(t, s.handleMessage(ctx, tc.msg, nil)); wire.ErrorCode(env.Payload) != codeShmRefused {
		t.Fatalf("%s: reply %q, want code %s", tc.name, env.Error, codeShmRefused)
	}

	// A result of at least the reply minimum comes back as type 7: a handle
	// to a segment holding the stream, which the receiver opens (and so
	// unlinks).
	reply, err := wire.Decode(s.handleMessage(ctx, shmMsgReply("add", 100, n, 1, h), nil))
	if err != nil || reply.Type != msgShmResult {
		t.Fatalf("reply %v %q (%v), want type 7", reply.Type, reply.Error, err)
	}
	rh, err := shm.DecodeHandle(reply.Payload, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := shm.Open(rh, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	env, rec := readReply(t, (&wire.Envelope{Type: wire.MsgResult, Name: "add", Payload: rs.Payload()}).Encode(nil))
	if got := colString(t, rec, "result"); env.Type != wire.MsgResult || got != "[3.5 (null)]" {
		t.Errorf("type 7 result %s", got)
	}
	rec.Release()
}

// A large result (its buffers detached from the reply and written into the
// segment from the result itself) reads the same through shared memory as
// through the socket, including a result that aliases its arguments in the
// arena (echo) and one under the reply minimum (copied back into the reply).
func TestShmCallLargeResultsMatchTheSocket(t *testing.T) {
	s := NewServer(testRegistry(t), WithLogger(nil))
	ctx := context.Background()
	m := memory.DefaultAllocator
	n := 300000 // 2.4 MB per float64 column
	xs, ys := make([]any, n), make([]any, n)
	for i := range xs {
		xs[i], ys[i] = float64(i)+0.5, float64(i%3)
	}
	xs[17], ys[n-1] = nil, nil
	body := stream(t, record(col{"x", f64(m, xs...)}, col{"y", f64(m, ys...)}))
	h := arenaHolding(t, body, 64, uint64(len(body))+4096).Handle().AppendBinary(nil)
	size := uint64(len(body))
	for _, fn := range []string{"add", "echo"} {
		socket, err := wire.Decode(s.handleMessage(ctx, shmMsg(fn, 64, size, h), nil))
		if err != nil || socket.Type != wire.MsgResult {
			t.Fatalf("%s over the socket: %v %q (%v)", fn, socket.Type, socket.Error, err)
		}
		reply, err := wire.Decode(s.handleMessage(ctx, shmMsgReply(fn, 64, size, 1, h), nil))
		if err != nil || reply.Type != msgShmResult {
			t.Fatalf("%s: reply %v %q (%v), want type 7", fn, reply.Type, reply.Error, err)
		}
		rh, err := shm.DecodeHandle(reply.Payload, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := shm.Open(rh, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rs.Payload(), socket.Payload) {
			t.Errorf("%s: the segment's %d bytes differ from the socket reply's %d", fn, len(rs.Payload()), len(socket.Payload))
		}
		rs.Close()
		// under the reply minimum: the whole result in the reply after all
		under, err := wire.Decode(s.handleMessage(ctx, shmMsgReply(fn, 64, size, 1<<40, h), nil))
		if err != nil || under.Type != wire.MsgResult || !bytes.Equal(under.Payload, socket.Payload) {
			t.Errorf("%s under the reply minimum: type %v, %d bytes, want the socket reply's %d", fn, under.Type, len(under.Payload), len(socket.Payload))
		}
	}
}
