package rgoipc

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkEnvelopeEncode measures framing a payload: one header append and
// one payload copy into a reused buffer.
func BenchmarkEnvelopeEncode(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 20, 100 << 20} {
		e := Envelope{Type: MsgResult, Name: "transposeMatrix", Payload: make([]byte, n)}
		b.Run(sizeName(n), func(b *testing.B) {
			// Fault the buffer in first: the benchmark is the copy.
			dst := e.Encode(make([]byte, 0, e.Size()))
			b.SetBytes(int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dst = e.Encode(dst[:0])
			}
		})
	}
}

// BenchmarkEnvelopeDecode measures parsing: the payload aliases the
// message, so the cost must not grow with its size.
func BenchmarkEnvelopeDecode(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 20, 100 << 20} {
		msg := (&Envelope{Type: MsgCall, Name: "transposeMatrix", Payload: make([]byte, n)}).Encode(nil)
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := DecodeEnvelope(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHandleMessageBulk measures the server side of the bulk R
// benchmarks (add on two float64 columns, echoString on strings) without
// transport: decode, validate, run, encode the result.
func BenchmarkHandleMessageBulk(b *testing.B) {
	mem := memory.DefaultAllocator
	s := NewServer(testRegistry(b), WithLogger(nil))
	cases := []struct {
		name string
		rows int
		req  func(n int) []byte
	}{
		{"add_1e6", 1e6, func(n int) []byte {
			return callMsg(b, "add", col{"x", seqFloat64(mem, n)}, col{"y", seqFloat64(mem, n)})
		}},
		{"echoString_1e6", 1e6, func(n int) []byte {
			return callMsg(b, "echoString", col{"x", seqStrings(mem, n)})
		}},
	}
	for _, c := range cases {
		req := c.req(c.rows)
		b.Run(c.name, func(b *testing.B) {
			var dst []byte
			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				dst = s.HandleMessage(context.Background(), req, dst[:0])
			}
			if MsgType(dst[0]) != MsgResult {
				e, _ := DecodeEnvelope(dst)
				b.Fatalf("reply type %v: %s", e.Type, e.Error)
			}
		})
	}
}

func seqFloat64(mem memory.Allocator, n int) arrow.Array {
	bld := array.NewFloat64Builder(mem)
	defer bld.Release()
	bld.Reserve(n)
	for i := 0; i < n; i++ {
		bld.UnsafeAppend(float64(i) + 0.5)
	}
	return bld.NewArray()
}

func seqStrings(mem memory.Allocator, n int) arrow.Array {
	bld := array.NewStringBuilder(mem)
	defer bld.Release()
	bld.Reserve(n)
	for i := 0; i < n; i++ {
		bld.Append(fmt.Sprintf("s%07d", i))
	}
	return bld.NewArray()
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
