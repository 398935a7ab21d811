package nngpeer

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
)

func TestCodecParseFormatRoundTrip(t *testing.T) {
	tests := []struct {
		codec  Codec
		values []string
		wire   []byte
	}{
		{Float64, []string{"1.5", "-2"}, []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0}},
		{Float64, []string{"NA", "NaN", "Inf", "-Inf", "0.1"}, nil},
		{Int32, []string{"1", "NA", "-7"}, []byte{1, 0, 0, 0, 0, 0, 0, 0x80, 0xf9, 0xff, 0xff, 0xff}},
		{String, []string{"ab", "", "ö"}, []byte("ab\x00\x00\xc3\xb6\x00")},
		{Raw, []string{"00", "ff", "0a"}, []byte{0, 0xff, 0x0a}},
		{String, nil, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.codec, tt.values), func(t *testing.T) {
			b, err := tt.codec.Parse(tt.values)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wire != nil && !bytes.Equal(b, tt.wire) {
				t.Fatalf("wire = % x, want % x", b, tt.wire)
			}
			got, err := tt.codec.Format(b)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.values
			if tt.codec == String {
				want = make([]string, len(tt.values))
				for i, v := range tt.values {
					want[i] = fmt.Sprintf("%q", v)
				}
			}
			if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
				t.Fatalf("Format = %q, want %q", got, want)
			}
		})
	}
}

func TestCodecErrors(t *testing.T) {
	tests := []struct {
		name string
		err  func() error
	}{
		{"unknown codec", func() error { _, err := ParseCodec("complex"); return err }},
		{"float64 text", func() error { _, err := Float64.Parse([]string{"x"}); return err }},
		{"int32 overflow", func() error { _, err := Int32.Parse([]string{"3000000000"}); return err }},
		{"int32 NA as number", func() error { _, err := Int32.Parse([]string{"-2147483648"}); return err }},
		{"raw not hex", func() error { _, err := Raw.Parse([]string{"1ff"}); return err }},
		{"string with NUL", func() error { _, err := String.Parse([]string{"a\x00b"}); return err }},
		{"float64 short body", func() error { _, err := DecodeFloat64s(make([]byte, 7)); return err }},
		{"int32 short body", func() error { _, err := Int32.Reverse(make([]byte, 5)); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.err(); !errors.Is(err, ErrCodec) {
				t.Fatalf("err = %v, want ErrCodec", err)
			}
		})
	}
}

func TestDecodeStringsLikeNanonext(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\x00", []string{"a"}},
		{"a\x00b", []string{"a", "b"}}, // last NUL missing: still a string
		{"\x00\x00", []string{"", ""}},
	}
	for _, tt := range tests {
		if got := DecodeStrings([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeStrings(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReverse(t *testing.T) {
	x := []float64{1, math.Inf(-1), 3.25}
	r, err := Float64.Reverse(EncodeFloat64s(x))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := DecodeFloat64s(r)
	if !reflect.DeepEqual(got, []float64{3.25, math.Inf(-1), 1}) {
		t.Fatalf("got %v", got)
	}
	s, _ := EncodeStrings([]string{"x", "yz"})
	r, _ = String.Reverse(s)
	if string(r) != "yz\x00x\x00" {
		t.Fatalf("got %q", r)
	}
}

func TestTopic(t *testing.T) {
	b, err := Topic(String, "fruit")
	if err != nil || string(b) != "fruit" {
		t.Fatalf("String topic = %q, %v", b, err)
	}
	b, err = Topic(Float64, "2")
	if err != nil || !bytes.Equal(b, EncodeFloat64s([]float64{2})) {
		t.Fatalf("Float64 topic = % x, %v", b, err)
	}
}

func TestSplitFields(t *testing.T) {
	got, err := SplitFields(`string "a b" c  "q\"x"`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"string", "a b", "c", `q"x`}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := SplitFields(`"open`); err == nil {
		t.Fatal("unterminated quote accepted")
	}
}

// The decoders take bytes from the network: whatever arrives, they return
// an error or values that encode back to the same bytes, and never panic.
func FuzzCodecs(f *testing.F) {
	f.Add([]byte("ab\x00c\x00"))
	f.Add(EncodeFloat64s([]float64{1, math.NaN()}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range []Codec{Raw, Float64, Int32, String} {
			vals, err := c.Format(b)
			if err != nil {
				continue
			}
			if c == String {
				for i, v := range vals {
					fmt.Sscanf(v, "%q", &vals[i])
				}
			}
			back, err := c.Parse(vals)
			if err != nil {
				if c == Float64 || c == Int32 {
					continue // NaN payloads and NA spellings are not all text
				}
				t.Fatalf("%s: Parse(Format(% x)): %v", c, b, err)
			}
			if c != Float64 && c != String && !bytes.Equal(back, b) {
				t.Fatalf("%s: % x -> %q -> % x", c, b, vals, back)
			}
			if _, err := c.Reverse(b); err != nil {
				t.Fatalf("%s: Reverse after Format succeeded: %v", c, err)
			}
		}
		_, _ = SplitFields(string(b))
	})
}
