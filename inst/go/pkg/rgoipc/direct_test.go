package rgoipc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"mangoro/internal/wire"
)

// directRegistry registers Funcs the direct path covers (and one it does
// not); off clears every direct path, so the same calls take the general one.
func directRegistry(t testing.TB, off bool) *Registry {
	t.Helper()
	reg := NewRegistry()
	err := errors.Join(
		reg.Func("add", addFloats, ArgNames("x", "y")),
		reg.Func("scale", func(x []float64, k float64) []float64 {
			for i := range x {
				x[i] *= k // writes into the request: allowed to surprise no one but itself
			}
			return x
		}, ArgNames("x", "k")),
		reg.Func("iadd", func(a, b []int32) []int32 {
			out := make([]int32, len(a))
			for i := range a {
				out[i] = a[i] + b[i]
			}
			return out
		}, ArgNames("a", "b")),
		reg.Func("count", func(n int, by int32) ([]int32, error) {
			if n < 0 {
				return nil, fmt.Errorf("n = %d is negative", n)
			}
			out := make([]int32, n)
			for i := range out {
				out[i] = int32(i) * by
			}
			return out, nil
		}, ArgNames("n", "by")),
		reg.Func("deadline", func(ctx context.Context, x []float64) (bool, error) {
			_, ok := ctx.Deadline()
			return ok, ctx.Err()
		}, ArgNames("x")),
		reg.Func("boom", func(x []float64) []float64 {
			if len(x) == 3 {
				panic("three")
			}
			return x
		}, ArgNames("x")),
		reg.Func("strs", func(s []string) []string { return s }, ArgNames("s")), // no direct path
	)
	if err != nil {
		t.Fatal(err)
	}
	if off {
		for _, e := range reg.funcs {
			if fh, ok := e.h.(*funcHandler); ok {
				fh.direct = nil
			}
		}
	}
	return reg
}

type directCase struct {
	name   string
	fn     string
	cols   func(memory.Allocator) []col
	direct bool // the direct path takes it
}

func directCases() []directCase {
	return []directCase{
		{"add one row", "add", func(m memory.Allocator) []col { return []col{{"x", f64(m, 1.5)}, {"y", f64(m, 2.5)}} }, true},
		{"add three rows", "add", func(m memory.Allocator) []col {
			return []col{{"x", f64(m, 1.0, 2.0, 3.0)}, {"y", f64(m, 0.5, 0.5, 0.5)}}
		}, true},
		{"add zero rows", "add", func(m memory.Allocator) []col { return []col{{"x", f64(m)}, {"y", f64(m)}} }, true},
		{"add with NA", "add", func(m memory.Allocator) []col { return []col{{"x", f64(m, 1.0, nil)}, {"y", f64(m, 2.0, 3.0)}} }, false},
		{"add of integers (a cast)", "add", func(m memory.Allocator) []col { return []col{{"x", i32(m, 1, 2)}, {"y", f64(m, 2.0, 3.0)}} }, false},
		{"add, columns swapped", "add", func(m memory.Allocator) []col { return []col{{"y", f64(m, 1.0)}, {"x", f64(m, 2.0)}} }, false},
		{"add, one missing", "add", func(m memory.Allocator) []col { return []col{{"x", f64(m, 1.0)}} }, false},
		{"add, one extra", "add", func(m memory.Allocator) []col {
			return []col{{"x", f64(m, 1.0)}, {"y", f64(m, 1.0)}, {"z", f64(m, 1.0)}}
		}, false},
		{"add, a string", "add", func(m memory.Allocator) []col { return []col{{"x", str(m, "a")}, {"y", f64(m, 1.0)}} }, false},
		{"scale, the scalar recycled", "scale", func(m memory.Allocator) []col { return []col{{"x", f64(m, 1.0, 2.0)}, {"k", f64(m, 3.0, 3.0)}} }, false},
		{"scale one row", "scale", func(m memory.Allocator) []col { return []col{{"x", f64(m, 2.0)}, {"k", f64(m, 3.0)}} }, true},
		{"iadd", "iadd", func(m memory.Allocator) []col { return []col{{"a", i32(m, 1, 2)}, {"b", i32(m, 10, 20)}} }, true},
		{"count", "count", func(m memory.Allocator) []col { return []col{{"n", i32(m, 4)}, {"by", i32(m, 3)}} }, true},
		{"count errs", "count", func(m memory.Allocator) []col { return []col{{"n", i32(m, -1)}, {"by", i32(m, 3)}} }, true},
		{"count of a double (a cast)", "count", func(m memory.Allocator) []col { return []col{{"n", f64(m, 4.0)}, {"by", i32(m, 3)}} }, false},
		{"count, zero rows for a scalar", "count", func(m memory.Allocator) []col { return []col{{"n", i32(m)}, {"by", i32(m)}} }, false},
		{"a handler that takes ctx", "deadline", func(m memory.Allocator) []col { return []col{{"x", f64(m, 1.0)}} }, true},
		{"a panic", "boom", func(m memory.Allocator) []col { return []col{{"x", f64(m, 1.0, 2.0, 3.0)}} }, true},
		{"no panic", "boom", func(m memory.Allocator) []col { return []col{{"x", f64(m, 1.0)}} }, true},
		{"strings", "strs", func(m memory.Allocator) []col { return []col{{"s", str(m, "a", "b")}} }, false},
	}
}

// Every request gets the same reply bytes on the direct path as on the
// general one, and the direct path takes exactly the requests it should.
func TestDirectPathAnswersAsTheGeneralPath(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	on := NewServer(directRegistry(t, false), WithAllocator(mem), WithLogger(nil))
	off := NewServer(directRegistry(t, true), WithAllocator(mem), WithLogger(nil))
	for _, tc := range directCases() {
		t.Run(tc.name, func(t *testing.T) {
			req := callMsg(t, tc.fn, tc.cols(mem)...)
			want := off.handleMessage(context.Background(), bytes.Clone(req), nil)
			// The first request of a schema fills the cache; both are checked.
			for i := 0; i < 2; i++ {
				got := on.handleMessage(context.Background(), bytes.Clone(req), nil)
				if !bytes.Equal(got, want) {
					t.Fatalf("call %d: the direct path's reply differs:\n%x\nwant\n%x", i+1, got, want)
				}
			}
			env, err := wire.Decode(req)
			if err != nil {
				t.Fatal(err)
			}
			e, err := on.reg.lookup(tc.fn)
			if err != nil {
				t.Fatal(err)
			}
			fh, _ := e.h.(*funcHandler)
			_, taken := directArgs(context.Background(), fh, &e.sig, env.Payload, nil)
			if taken != tc.direct {
				t.Errorf("direct path taken = %v, want %v", taken, tc.direct)
			}
		})
	}
}

// A batch whose length (and its first node's) is negative is malformed on
// both paths: the direct path leaves it to the general one, which says so.
func TestDirectPathLeavesNegativeLengthsToTheGeneralPath(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	on := NewServer(directRegistry(t, false), WithAllocator(mem), WithLogger(nil))
	off := NewServer(directRegistry(t, true), WithAllocator(mem), WithLogger(nil))
	req := callMsg(t, "boom", col{"x", f64(mem, 1.0)})
	on.handleMessage(context.Background(), bytes.Clone(req), nil) // caches the schema
	env, err := wire.Decode(req)
	if err != nil {
		t.Fatal(err)
	}
	e, m, ok := requestSchemas.batchOf(env.Payload)
	if !ok {
		t.Fatal("the request's schema is not cached")
	}
	// m.meta aliases req: set the batch length and the node length to -1.
	nodes, _, _, _ := e.batchHeader(m)
	v := fbVerifier{buf: m.meta}
	p, _ := v.field(m.header, 0, 8)
	if p < 0 {
		t.Fatal("the batch has no length field")
	}
	binary.LittleEndian.PutUint64(m.meta[p:], ^uint64(0))
	binary.LittleEndian.PutUint64(m.meta[nodes:], ^uint64(0))
	want := off.handleMessage(context.Background(), bytes.Clone(req), nil)
	got := on.handleMessage(context.Background(), bytes.Clone(req), nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("reply %q, want %q", got, want)
	}
	if reply, err := wire.Decode(got); err != nil || reply.Type != wire.MsgError || !bytes.Contains([]byte(reply.Error), []byte("malformed")) {
		t.Errorf("reply %+v (%v), want a malformed error", reply, err)
	}
}

// FuzzDirectPath sends each input, as the Arrow payload of a call to one of
// directRegistry's functions, to a server with the direct path and to one
// without: the replies must be the same bytes (the direct path reads a
// request as the general path would, or leaves it to it). The schema is
// cached from the schema message alone first, so that mutated batches meet
// the direct path too. Seeds: directCases' requests.
func FuzzDirectPath(f *testing.F) {
	names := []string{"add", "scale", "iadd", "count", "deadline", "boom", "strs"}
	mem := memory.NewGoAllocator()
	for _, tc := range directCases() {
		env, err := wire.Decode(callMsg(f, tc.fn, tc.cols(mem)...))
		if err != nil {
			f.Fatal(err)
		}
		for i, n := range names {
			if n == tc.fn {
				f.Add(uint8(i), env.Payload)
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		on := NewServer(directRegistry(t, false), WithAllocator(mem), WithLogger(nil))
		off := NewServer(directRegistry(t, true), WithAllocator(mem), WithLogger(nil))
		warmCache(&requestSchemas, payload, mem)
		req := (&wire.Envelope{Type: wire.MsgCall, Name: names[int(which)%len(names)], Payload: payload}).Encode(nil)
		want := off.handleMessage(context.Background(), bytes.Clone(req), nil)
		got := on.handleMessage(context.Background(), bytes.Clone(req), nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("the direct path's reply differs:\n%q\nwant\n%q", got, want)
		}
	})
}
