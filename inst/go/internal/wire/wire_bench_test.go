package wire

import (
	"fmt"
	"testing"
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
				if _, err := Decode(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
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
