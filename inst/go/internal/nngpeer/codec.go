package nngpeer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Codec says how the body of a message is laid out: which R vector type,
// sent by nanonext with mode = "raw", it holds.
type Codec int

// The codecs, named after the Go type of one element.
const (
	Raw     Codec = iota // raw vector: the bytes themselves
	Float64              // double: little-endian IEEE 754, 8 bytes each
	Int32                // integer or logical: little-endian, 4 bytes each
	String               // character: each string followed by a NUL byte
)

// ErrCodec is wrapped by every error about a body or a value that does not
// fit its codec.
var ErrCodec = errors.New("nngpeer: bad value for codec")

// naFloat64Bits is R's NA_real_: a NaN whose low word is 1954.
const naFloat64Bits = 0x7FF00000000007A2

// NAInt32 is R's NA_integer_ (and NA for logicals).
const NAInt32 = math.MinInt32

var codecNames = map[string]Codec{
	"raw": Raw, "float64": Float64, "double": Float64,
	"int32": Int32, "integer": Int32, "string": String, "character": String,
}

// ParseCodec accepts the Go names (raw, float64, int32, string) and the R
// names (raw, double, integer, character).
func ParseCodec(name string) (Codec, error) {
	c, ok := codecNames[name]
	if !ok {
		return Raw, fmt.Errorf("%w: unknown codec %q (want raw, float64, int32 or string)", ErrCodec, name)
	}
	return c, nil
}

// String returns the Go name of the codec, as printed in output lines.
func (c Codec) String() string {
	switch c {
	case Float64:
		return "float64"
	case Int32:
		return "int32"
	case String:
		return "string"
	}
	return "raw"
}

// EncodeFloat64s lays out doubles as R's readBin/nanonext expect them.
func EncodeFloat64s(x []float64) []byte {
	b := make([]byte, 8*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return b
}

// DecodeFloat64s reads a body sent from R as a double vector.
func DecodeFloat64s(b []byte) ([]float64, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of float64s", ErrCodec, len(b))
	}
	x := make([]float64, len(b)/8)
	for i := range x {
		x[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return x, nil
}

// EncodeInt32s lays out integers as R's integer vectors.
func EncodeInt32s(x []int32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return b
}

// DecodeInt32s reads a body sent from R as an integer (or logical) vector.
func DecodeInt32s(b []byte) ([]int32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of int32s", ErrCodec, len(b))
	}
	x := make([]int32, len(b)/4)
	for i := range x {
		x[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x, nil
}

// EncodeStrings terminates every string with a NUL, as nanonext does when
// it sends a character vector in mode "raw".
func EncodeStrings(x []string) ([]byte, error) {
	var buf bytes.Buffer
	for _, s := range x {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, fmt.Errorf("%w: string %q contains a NUL byte", ErrCodec, s)
		}
		buf.WriteString(s)
		buf.WriteByte(0)
	}
	return buf.Bytes(), nil
}

// DecodeStrings splits a body at NUL bytes. A last string without its NUL
// is accepted, as nanonext accepts it.
func DecodeStrings(b []byte) []string {
	var x []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			x = append(x, string(b))
			break
		}
		x = append(x, string(b[:i]))
		b = b[i+1:]
	}
	return x
}

// Elements splits a body into its elements, without converting them.
func (c Codec) Elements(b []byte) ([][]byte, error) {
	size := 0
	switch c {
	case Float64:
		size = 8
	case Int32:
		size = 4
	case Raw:
		size = 1
	case String:
		var out [][]byte
		for _, s := range DecodeStrings(b) {
			out = append(out, append([]byte(s), 0))
		}
		return out, nil
	}
	if len(b)%size != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte %s values", ErrCodec, len(b), size, c)
	}
	out := make([][]byte, 0, len(b)/size)
	for i := 0; i < len(b); i += size {
		out = append(out, b[i:i+size])
	}
	return out, nil
}

// Reverse returns the elements of a body in reverse order: a reply that
// shows the element boundaries were understood, not merely echoed.
func (c Codec) Reverse(b []byte) ([]byte, error) {
	el, err := c.Elements(b)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+1)
	for i := len(el) - 1; i >= 0; i-- {
		out = append(out, el[i]...)
	}
	return out, nil
}

// Parse converts values written as text (as in a stdin command) to a body.
// float64 accepts NA, NaN, Inf and -Inf as R prints them; int32 accepts NA;
// raw takes one byte per value in hex; string takes the values as they are.
func (c Codec) Parse(values []string) ([]byte, error) {
	switch c {
	case String:
		return EncodeStrings(values)
	case Float64:
		x := make([]float64, len(values))
		for i, v := range values {
			f, err := parseFloat64(v)
			if err != nil {
				return nil, err
			}
			x[i] = f
		}
		return EncodeFloat64s(x), nil
	case Int32:
		x := make([]int32, len(values))
		for i, v := range values {
			if v == "NA" {
				x[i] = NAInt32
				continue
			}
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n == NAInt32 {
				return nil, fmt.Errorf("%w: %q is not an int32 (NA allowed)", ErrCodec, v)
			}
			x[i] = int32(n)
		}
		return EncodeInt32s(x), nil
	}
	out := make([]byte, len(values))
	for i, v := range values {
		n, err := strconv.ParseUint(v, 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%w: %q is not a byte in hex (00 to ff)", ErrCodec, v)
		}
		out[i] = byte(n)
	}
	return out, nil
}

func parseFloat64(v string) (float64, error) {
	switch v {
	case "NA":
		return math.Float64frombits(naFloat64Bits), nil
	case "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a float64 (NA, NaN, Inf allowed)", ErrCodec, v)
	}
	return f, nil
}

// Format converts a body to text values, the inverse of Parse: float64s in
// the shortest form that reads back exactly, strings quoted.
func (c Codec) Format(b []byte) ([]string, error) {
	switch c {
	case String:
		x := DecodeStrings(b)
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = strconv.Quote(s)
		}
		return out, nil
	case Float64:
		x, err := DecodeFloat64s(b)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(x))
		for i, v := range x {
			out[i] = formatFloat64(v)
		}
		return out, nil
	case Int32:
		x, err := DecodeInt32s(b)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(x))
		for i, v := range x {
			if v == NAInt32 {
				out[i] = "NA"
			} else {
				out[i] = strconv.FormatInt(int64(v), 10)
			}
		}
		return out, nil
	}
	out := make([]string, len(b))
	for i, v := range b {
		out[i] = fmt.Sprintf("%02x", v)
	}
	return out, nil
}

func formatFloat64(v float64) string {
	switch {
	case math.IsNaN(v) && uint32(math.Float64bits(v)) == 1954:
		return "NA" // R tests the low word only (R_IsNA)
	case math.IsInf(v, 1):
		return "Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Topic encodes a subscription topic written as text. A sub socket keeps
// messages whose body starts with the topic's bytes; like nanonext's
// subscribe(), a String topic leaves out its NUL, so that "fruit" matches
// both c("fruit", "apple") and "fruit:apple", and a Float64 topic 2 matches
// a double vector whose first element is 2.
func Topic(c Codec, value string) ([]byte, error) {
	b, err := c.Parse([]string{value})
	if err != nil {
		return nil, err
	}
	if c == String {
		b = b[:len(b)-1]
	}
	return b, nil
}

// SplitFields splits a command line into words; a word starting with a
// double quote is a Go string literal and may hold spaces and escapes.
func SplitFields(line string) ([]string, error) {
	var out []string
	for {
		line = strings.TrimLeft(line, " \t\r\n")
		if line == "" {
			return out, nil
		}
		if line[0] == '"' {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				return nil, fmt.Errorf("nngpeer: unterminated or bad quoted string in %q", line)
			}
			s, _ := strconv.Unquote(q)
			out = append(out, s)
			line = line[len(q):]
			continue
		}
		end := strings.IndexAny(line, " \t\r\n")
		if end < 0 {
			end = len(line)
		}
		out = append(out, line[:end])
		line = line[end:]
	}
}
