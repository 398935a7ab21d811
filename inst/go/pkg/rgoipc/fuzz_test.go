package rgoipc

import (
	"context"
	"mangoro/internal/wire"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// FuzzHandleMessage feeds arbitrary bytes to the whole request path
// (envelope, Arrow decoding, validation, handlers). The reply must always be
// a well-formed envelope, and no panic may reach the last-resort recover in
// HandleMessage ("internal error"): every failure must be handled where it
// happens.
func FuzzHandleMessage(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 3, 'a', 'd', 'd', 0, 0, 0, 0})
	f.Add((&wire.Envelope{Type: wire.MsgCall, Name: "echo", Payload: []byte{0xFF, 0xFF, 0xFF, 0xFF, 8, 0, 0, 0}}).Encode(nil))
	f.Add((&wire.Envelope{Type: wire.MsgCall, Name: "add", Error: `{"id":"0123456789abcdef","timeout_ms":100}`}).Encode(nil))
	f.Add((&wire.Envelope{Type: wire.MsgCancel, Name: "0123456789abcdef", Error: `{"token":"t"}`}).Encode(nil))
	f.Add((&wire.Envelope{Type: wire.MsgInfo, Error: `{"timeout_ms":-1}`}).Encode(nil))
	s := NewServer(testRegistry(f), WithLogger(nil))
	f.Fuzz(func(t *testing.T, req []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		s.mem = mem
		reply := s.handleMessage(context.Background(), req, nil)
		env, rec := readReply(t, reply)
		if rec != nil {
			rec.Release()
		}
		if strings.Contains(env.Error, "internal error") {
			t.Fatalf("panic escaped to HandleMessage: %s", env.Error)
		}
		if env.Type > wire.MsgCancel {
			t.Fatalf("reply type %d", env.Type)
		}
		if env.Type == wire.MsgError {
			if code := wire.ErrorCode(env.Payload); code == wire.CodeOther || !wire.ValidCode(code) {
				t.Fatalf("error reply without a valid code: %q", env.Payload)
			}
			if !utf8.ValidString(env.Error) || (env.Name != "" && wire.CheckName(env.Name) != "") {
				t.Fatalf("error reply a client cannot read: name %q, error %q", env.Name, env.Error)
			}
		}
		mem.AssertSize(t, 0)
	})
}
