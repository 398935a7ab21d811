package rgoipc

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"mangoro/internal/wire"
)

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
				dst = s.handleMessage(context.Background(), req, dst[:0])
			}
			if wire.MsgType(dst[0]) != wire.MsgResult {
				e, _ := wire.Decode(dst)
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
