package shm

import (
	"bytes"
	"testing"
)

// FuzzDecodeHandle: any input either is refused or decodes to a handle that
// encodes back to exactly the same bytes and names a well-formed segment.
func FuzzDecodeHandle(f *testing.F) {
	f.Add(Handle{Name: "/mangoro-42-0123456789abcdef", Length: 100}.AppendBinary(nil))
	f.Add(Handle{Name: "/mangoro-4294967295-ffffffffffffffff", Length: 0}.AppendBinary(nil))
	f.Add([]byte("MGSH\x01\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHandle(b, 1<<40)
		if err != nil {
			return
		}
		if !bytes.Equal(h.AppendBinary(nil), b) {
			t.Fatalf("%+v does not encode back to its input", h)
		}
		if _, _, ok := parseName(h.Name); !ok || h.Length > 1<<40 {
			t.Fatalf("accepted %+v", h)
		}
	})
}
