package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		env  Envelope
		want []byte
	}{
		{"manifest request", Envelope{Type: MsgManifest}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"call", Envelope{Type: MsgCall, Name: "add", Payload: []byte{9, 8}},
			[]byte{1, 0, 0, 0, 3, 'a', 'd', 'd', 0, 0, 0, 0, 9, 8}},
		{"error", Envelope{Type: MsgError, Name: "f", Error: "boom"},
			[]byte{3, 0, 0, 0, 1, 'f', 0, 0, 0, 4, 'b', 'o', 'o', 'm'}},
		{"utf-8 name", Envelope{Type: MsgCall, Name: "ü"}, []byte{1, 0, 0, 0, 2, 0xC3, 0xBC, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.env.Encode(nil)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("Encode = % x, want % x", got, tc.want)
			}
			if n := tc.env.Size(); n != len(got) {
				t.Errorf("Size = %d, encoded %d bytes", n, len(got))
			}
			back, err := Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			if back.Type != tc.env.Type || back.Name != tc.env.Name || back.Error != tc.env.Error ||
				!bytes.Equal(back.Payload, tc.env.Payload) {
				t.Errorf("Decode = %+v, want %+v", back, tc.env)
			}
		})
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"type only", []byte{1}},
		{"short name length", []byte{1, 0, 0}},
		{"header minus one", []byte{1, 0, 0, 0, 0, 0, 0, 0}},
		{"name longer than message", []byte{1, 0, 0, 0, 5, 'a', 'b', 0, 0, 0, 0}},
		{"huge name length", []byte{1, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}},
		{"error length cut", []byte{3, 0, 0, 0, 1, 'f', 0, 0}},
		{"error longer than message", []byte{3, 0, 0, 0, 0, 0, 0, 0, 9, 'x'}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(% x) error = %v, want ErrMalformed", tc.in, err)
			}
		})
	}
}

func TestDecodeAliasesPayload(t *testing.T) {
	msg := (&Envelope{Type: MsgCall, Name: "f", Payload: []byte{1, 2, 3}}).Encode(nil)
	env, err := Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	msg[len(msg)-1] = 42
	if env.Payload[2] != 42 {
		t.Error("payload was copied; it should alias the message")
	}
}

func TestMsgTypeString(t *testing.T) {
	for typ, want := range map[MsgType]string{MsgManifest: "manifest", MsgCall: "call", MsgResult: "result",
		MsgError: "error", MsgInfo: "info", 7: "type(7)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", typ, got, want)
		}
	}
}

// FuzzDecode: any input either decodes and re-encodes to itself,
// or fails with ErrMalformed; it never panics.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 3, 'a', 'd', 'd', 0, 0, 0, 0})
	f.Add((&Envelope{Type: MsgCall, Name: "add", Error: `{"id":"0123456789abcdef","timeout_ms":100}`}).Encode(nil))
	f.Add((&Envelope{Type: MsgCancel, Name: "0123456789abcdef", Error: `{"token":"t"}`}).Encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if got := env.Encode(nil); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded % x, want % x", got, b)
		}
	})
}

// TestErrorReplies: the code travels as JSON; an empty or foreign payload
// reads as "other"; messages are made readable for every client.
func TestErrorReplies(t *testing.T) {
	env, err := Decode(AppendError(nil, "f", "f: a\x00b\xff", CodeHandler))
	if err != nil {
		t.Fatal(err)
	}
	if env.Type != MsgError || env.Name != "f" || env.Error != "f: a\uFFFDb\uFFFD" || string(env.Payload) != `{"code":"handler"}` {
		t.Errorf("reply %+v (payload %s)", env, env.Payload)
	}
	for payload, want := range map[string]string{
		`{"code":"panic"}`: "panic", `{"code":"x","more":1}`: "x", "": "other", "not json": "other",
		`{"code":1}`: "other", `["panic"]`: "other", `{}`: "other",
	} {
		if got := ErrorCode([]byte(payload)); got != want {
			t.Errorf("ErrorCode(%q) = %q, want %q", payload, got, want)
		}
	}
	for code, want := range map[string]bool{"panic": true, "a1_b": true, "": false, "1a": false, "A": false,
		"a-b": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false} {
		if ValidCode(code) != want {
			t.Errorf("ValidCode(%q) = %v", code, !want)
		}
	}
}
