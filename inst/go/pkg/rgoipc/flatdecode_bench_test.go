package rgoipc

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkDecodeRecord decodes the request stream of BenchmarkHandleMessage's
// add_2rows with ipc.Reader alone and with its schema cached.
func BenchmarkDecodeRecord(b *testing.B) {
	mem := memory.DefaultAllocator
	payload := stream(b, record(col{"x", f64(mem, 1.5, nil)}, col{"y", f64(mem, 0.5, 1.0)}))
	for _, c := range []struct {
		name  string
		cache *flatSchemaCache
	}{
		{"reader", nil},
		{"cached", new(flatSchemaCache)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rec, err := decodeRecordCached(payload, mem, c.cache)
				if err != nil {
					b.Fatal(err)
				}
				rec.Release()
			}
		})
	}
}
