package wire

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestDecodeHeader: the header's keys, their checks, and tolerance of
// unknown keys; an error never echoes the text.
func TestDecodeHeader(t *testing.T) {
	tests := []struct {
		text string
		want Header
		bad  bool
	}{
		{"", Header{}, false},
		{`{}`, Header{}, false},
		{`{"id":"ab12_-Z","timeout_ms":1500,"token":"s3cret","more":[1,{"x":2}]}`,
			Header{ID: "ab12_-Z", Timeout: 1500 * time.Millisecond, HasTimeout: true, Token: "s3cret"}, false},
		{`{"timeout_ms":0}`, Header{HasTimeout: true}, false},
		{`{"timeout_ms":2.5}`, Header{Timeout: 2500 * time.Microsecond, HasTimeout: true}, false},
		{`{"timeout_ms":1e30}`, Header{Timeout: time.Duration(maxTimeoutMS) * time.Millisecond, HasTimeout: true}, false},
		{`{"id":null}`, Header{}, false},
		{`{"id":""}`, Header{}, true},
		{`{"id":"a b"}`, Header{}, true},
		{`{"id":"` + strings.Repeat("a", 65) + `"}`, Header{}, true},
		{`{"id":5}`, Header{}, true},
		{`{"timeout_ms":-1}`, Header{}, true},
		{`{"timeout_ms":"5"}`, Header{}, true},
		{`{"timeout_ms":1e400}`, Header{}, true},
		{`{"token":1}`, Header{}, true},
		{`[1]`, Header{}, true},
		{`s3cret`, Header{}, true},
		{`{"token":"s3cret"} x`, Header{}, true},
		{`{"token":"s3cret"`, Header{}, true},
	}
	for _, tc := range tests {
		got, err := DecodeHeader(tc.text)
		if tc.bad {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeHeader(%q) error %v, want ErrMalformed", tc.text, err)
			} else if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("DecodeHeader(%q) error echoes the token: %v", tc.text, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("DecodeHeader(%q) = %+v, %v; want %+v", tc.text, got, err, tc.want)
		}
	}
}

// TestEncodeHeader round-trips through DecodeHeader.
func TestEncodeHeader(t *testing.T) {
	for _, h := range []Header{{}, {ID: "x1"}, {ID: "abc", Timeout: 3 * time.Second, HasTimeout: true, Token: "t"}} {
		got, err := DecodeHeader(EncodeHeader(h))
		if err != nil || got != h {
			t.Errorf("round trip of %+v: %+v, %v", h, got, err)
		}
	}
}

// The fast path answers for the headers R writes, and agrees with the JSON
// decoder; other shapes go to the JSON decoder.
func TestDecodeHeaderFast(t *testing.T) {
	cases := []struct {
		text string
		fast bool
	}{
		{`{"id":"0123456789abcdef","timeout_ms":10100}`, true},
		{`{"id":"0123456789abcdef"}`, true},
		{`{"id":"0123456789abcdef","timeout_ms":0,"token":"a b-c"}`, true},
		{`{"id":"x","token":"tok"}`, true},
		{`{"token":"tok"}`, true},
		{`{"id":"x","timeout_ms":1.5}`, false},
		{`{"id":"x","timeout_ms":01}`, false},
		{`{"id":"x","timeout_ms":1e3}`, false},
		{`{"id":"x", "timeout_ms":1}`, false},
		{`{"timeout_ms":1,"id":"x"}`, false},
		{`{"id":"x","token":"a\"b"}`, false},
		{`{"id":"x"} `, false},
		{`{"ID":"x"}`, false},
		{`{"id":"bad id"}`, false},
		{`{}`, false},
	}
	for _, c := range cases {
		fast, ok := decodeHeaderFast(c.text)
		if ok != c.fast {
			t.Errorf("%s: fast path took it: %v, want %v", c.text, ok, c.fast)
		}
		slow, err := decodeHeaderJSON(c.text)
		if ok && (err != nil || fast != slow) {
			t.Errorf("%s: fast %+v, JSON %+v (%v)", c.text, fast, slow, err)
		}
		got, gerr := DecodeHeader(c.text)
		if (gerr == nil) != (err == nil) || got != slow {
			t.Errorf("%s: DecodeHeader %+v (%v), JSON %+v (%v)", c.text, got, gerr, slow, err)
		}
	}
}

// FuzzDecodeHeader: any text decodes or fails with ErrMalformed; a decoded
// id is valid and a timeout is not negative.
func FuzzDecodeHeader(f *testing.F) {
	f.Add(`{"id":"0123456789abcdef","timeout_ms":1500}`)
	f.Add(`{"token":"t","timeout_ms":0.5}`)
	f.Add(`{"id":"a","id":"b"}`)
	f.Add(`{"id":"0123456789abcdef","timeout_ms":10100,"token":"s3cret"}`)
	f.Add(`{"id":"0123456789abcdef","timeout_ms":010}`)
	f.Fuzz(func(t *testing.T, text string) {
		// The fast path, where it answers, agrees with the JSON decoder.
		if fast, ok := decodeHeaderFast(text); ok {
			slow, err := decodeHeaderJSON(text)
			if err != nil || fast != slow {
				t.Fatalf("%q: fast %+v, JSON %+v (%v)", text, fast, slow, err)
			}
		}
		h, err := DecodeHeader(text)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if (h.ID != "" && !ValidID(h.ID)) || h.Timeout < 0 {
			t.Fatalf("decoded %+v", h)
		}
	})
}
