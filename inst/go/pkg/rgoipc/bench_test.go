package rgoipc

import (
	"context"
	"mangoro/internal/wire"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.nanomsg.org/mangos/v3"
)

// BenchmarkHandleMessage measures the server-side cost of one call,
// without transport: decode, validate, run, encode.
func BenchmarkHandleMessage(b *testing.B) {
	mem := memory.DefaultAllocator
	s := NewServer(testRegistry(b), WithLogger(nil))
	cases := []struct {
		name string
		req  []byte
	}{
		{"add_1row", callMsg(b, "add", col{"x", f64(mem, 1.5)}, col{"y", f64(mem, 0.5)})}, // R's small call: the direct path
		{"add_2rows", callMsg(b, "add", col{"x", f64(mem, 1.5, nil)}, col{"y", f64(mem, 0.5, 1.0)})},
		{"add_int_cast", callMsg(b, "add", col{"x", i32(mem, 1, 2)}, col{"y", f64(mem, 0.5, 1.0)})},
		{"echo_strings", callMsg(b, "echoString", col{"x", str(mem, "a", nil, "b")})},
		{"manifest", (&wire.Envelope{Type: wire.MsgManifest}).Encode(nil)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			dst := make([]byte, 0, 4096)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				dst = s.handleMessage(context.Background(), c.req, dst[:0])
			}
		})
	}
}

// BenchmarkRoundTripInproc measures a whole call through a real server
// and a real req socket on the inproc transport.
func BenchmarkRoundTripInproc(b *testing.B) {
	url := "inproc://rgoipc-bench"
	s := NewServer(testRegistry(b), WithLogger(nil))
	if _, err := s.Listen(url); err != nil {
		b.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	defer s.Close()
	client := dialClientTB(b, url)
	defer client.Close()
	ctx, err := client.OpenContext()
	if err != nil {
		b.Fatal(err)
	}
	mem := memory.DefaultAllocator
	req := callMsg(b, "add", col{"x", f64(mem, 1.5, nil)}, col{"y", f64(mem, 0.5, 1.0)})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ctx.Send(req); err != nil {
			b.Fatal(err)
		}
		if _, err := ctx.Recv(); err != nil {
			b.Fatal(err)
		}
	}
}

func dialClientTB(tb testing.TB, url string) mangos.Socket {
	c, err := reqSocket()
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Dial(url); err != nil {
		tb.Fatal(err)
	}
	return c
}
