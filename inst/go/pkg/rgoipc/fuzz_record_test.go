package rgoipc

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"mangoro/internal/wire"
)

// FuzzDecodeRecord feeds arbitrary bytes to the Arrow reader and its
// verifier (decodeRecord: flatbuffer verification, allocation budget,
// layout checks). It must fail with ErrMalformed or return a record whose
// values can all be read, and it must release everything it allocated.
// Seeds: testdata/fuzz/FuzzDecodeRecord (replies of every type R sends).
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, payload []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		rec, err := decodeRecord(payload, mem)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		defer rec.Release()
		// Reading every value touches every buffer the verifier accepted.
		for _, col := range rec.Columns() {
			for i := 0; i < col.Len() && i < 256; i++ {
				_ = col.ValueStr(i)
			}
		}
	})
}
