package rgoipc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mangoro/internal/wire"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestHandleMessage runs whole request/reply cycles, success and every
// error path, through a checked allocator and asserts nothing leaks.
func TestHandleMessage(t *testing.T) {
	type want struct {
		typ  wire.MsgType
		err  string            // exact error message for wire.MsgError
		code string            // its code
		cols map[string]string // column -> formatted values for wire.MsgResult
	}
	tests := []struct {
		name string
		req  func(mem memory.Allocator) []byte
		want want
	}{
		{"add doubles with NA", func(m memory.Allocator) []byte {
			return callMsg(t, "add", col{"x", f64(m, 1.5, nil)}, col{"y", f64(m, 0.5, 1.0)})
		}, want{typ: wire.MsgResult, cols: map[string]string{"result": "[2 (null)]"}}},
		{"add casts R integers", func(m memory.Allocator) []byte {
			return callMsg(t, "add", col{"x", i32(m, 1, nil, 3)}, col{"y", f64(m, 0.5, 1.0, 2.0)})
		}, want{typ: wire.MsgResult, cols: map[string]string{"result": "[1.5 (null) 5]"}}},
		{"add takes columns in any order", func(m memory.Allocator) []byte {
			return callMsg(t, "add", col{"y", f64(m, 1.0)}, col{"x", f64(m, 2.0)})
		}, want{typ: wire.MsgResult, cols: map[string]string{"result": "[3]"}}},
		{"add fills unnamed columns in order", func(m memory.Allocator) []byte {
			return callMsg(t, "add", col{"", f64(m, 1.0)}, col{"", f64(m, 2.0)})
		}, want{typ: wire.MsgResult, cols: map[string]string{"result": "[3]"}}},
		{"add wrong type", func(m memory.Allocator) []byte {
			return callMsg(t, "add", col{"x", f64(m, 1.0)}, col{"y", str(m, "a")})
		}, want{typ: wire.MsgError, code: "bad_arguments", err: `add: argument "y": expected float64, got string`}},
		{"add missing argument", func(m memory.Allocator) []byte {
			return callMsg(t, "add", col{"x", f64(m, 1.0)})
		}, want{typ: wire.MsgError, code: "bad_arguments", err: `add: missing argument "y"`}},
		{"add unknown argument", func(m memory.Allocator) []byte {
			return callMsg(t, "add", col{"x", f64(m, 1.0)}, col{"y", f64(m, 1.0)}, col{"z", f64(m, 1.0)})
		}, want{typ: wire.MsgError, code: "bad_arguments", err: `add: unknown argument "z"; arguments are x, y`}},
		{"add argument twice", func(m memory.Allocator) []byte {
			return callMsg(t, "add", col{"x", f64(m, 1.0)}, col{"x", f64(m, 1.0)})
		}, want{typ: wire.MsgError, code: "bad_arguments", err: `add: argument "x": given twice`}},
		{"unknown function", func(m memory.Allocator) []byte {
			return callMsg(t, "foo", col{"x", f64(m, 1.0)})
		}, want{typ: wire.MsgError, code: "unknown_function", err: `unknown function "foo"; available: add, echo, echoString, fail, leaky, panic, scale`}},
		{"echoString keeps NA", func(m memory.Allocator) []byte {
			return callMsg(t, "echoString", col{"x", str(m, "a", nil, "ü")})
		}, want{typ: wire.MsgResult, cols: map[string]string{"result": `["a" (null) "ü"]`}}},
		{"default fills omitted optional argument", func(m memory.Allocator) []byte {
			return callMsg(t, "scale", col{"x", f64(m, 1.0, nil)})
		}, want{typ: wire.MsgResult, cols: map[string]string{"result": "[2 (null)]"}}},
		{"given optional argument", func(m memory.Allocator) []byte {
			return callMsg(t, "scale", col{"x", f64(m, 1.0)}, col{"by", i32(m, 10)})
		}, want{typ: wire.MsgResult, cols: map[string]string{"result": "[10]"}}},
		{"handler error with default message", func(memory.Allocator) []byte {
			return (&wire.Envelope{Type: wire.MsgCall, Name: "fail"}).Encode(nil)
		}, want{typ: wire.MsgError, code: "handler", err: "fail: requested failure"}},
		{"handler error with given message", func(m memory.Allocator) []byte {
			return callMsg(t, "fail", col{"message", str(m, "boom")})
		}, want{typ: wire.MsgError, code: "handler", err: "fail: boom"}},
		{"scalar rejects NA", func(m memory.Allocator) []byte {
			return callMsg(t, "fail", col{"message", str(m, nil)})
		}, want{typ: wire.MsgError, code: "bad_arguments", err: `fail: argument "message": NA is not allowed`}},
		{"panic becomes error", func(memory.Allocator) []byte {
			return (&wire.Envelope{Type: wire.MsgCall, Name: "panic"}).Encode(nil)
		}, want{typ: wire.MsgError, code: "panic", err: "panic: panic: requested panic"}},
		{"result returned with error is released", func(memory.Allocator) []byte {
			return (&wire.Envelope{Type: wire.MsgCall, Name: "leaky"}).Encode(nil)
		}, want{typ: wire.MsgError, code: "handler", err: "leaky: half done"}},
		{"echo any types", func(m memory.Allocator) []byte {
			return callMsg(t, "echo", col{"a", i32(m, 1, nil)}, col{"b", str(m, "x", "y")})
		}, want{typ: wire.MsgResult, cols: map[string]string{"a": "[1 (null)]", "b": `["x" "y"]`}}},
		{"truncated envelope", func(memory.Allocator) []byte {
			return []byte{1, 0, 0}
		}, want{typ: wire.MsgError, code: "malformed", err: "rgoipc: malformed message: 3 bytes is shorter than the 9-byte header"}},
		{"name length beyond message", func(memory.Allocator) []byte {
			return []byte{1, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}
		}, want{typ: wire.MsgError, code: "malformed", err: "rgoipc: malformed message: name length 4294967295 exceeds the 4 bytes left"}},
		{"garbage Arrow stream", func(memory.Allocator) []byte {
			return (&wire.Envelope{Type: wire.MsgCall, Name: "add", Payload: []byte("not arrow at all")}).Encode(nil)
		}, want{typ: wire.MsgError, code: "malformed"}},
		{"unknown message type", func(memory.Allocator) []byte {
			return (&wire.Envelope{Type: 9}).Encode(nil)
		}, want{typ: wire.MsgError, code: "unknown_type", err: "rgoipc: unknown message type 9 (this server knows 0 manifest, 1 call, 4 info, 5 cancel, 6 shared-memory call)"}},
		{"name with a NUL byte", func(m memory.Allocator) []byte {
			return callMsg(t, "ad\x00d", col{"x", f64(m, 1.0)})
		}, want{typ: wire.MsgError, code: "bad_name", err: `rgoipc: function name "ad\x00d" holds a NUL byte`}},
		{"name not UTF-8", func(m memory.Allocator) []byte {
			return callMsg(t, "a\xffb", col{"x", f64(m, 1.0)})
		}, want{typ: wire.MsgError, code: "bad_name", err: `rgoipc: function name "a\xffb" is not valid UTF-8`}},
		{"name too long", func(m memory.Allocator) []byte {
			return callMsg(t, strings.Repeat("é", 129), col{"x", f64(m, 1.0)})
		}, want{typ: wire.MsgError, code: "bad_name", err: `rgoipc: function name "` + strings.Repeat(`\u00e9`, 16) + `"... is 258 bytes long, over the limit of 256`}},
		{"empty name", func(m memory.Allocator) []byte {
			return callMsg(t, "", col{"x", f64(m, 1.0)})
		}, want{typ: wire.MsgError, code: "bad_name", err: `rgoipc: function name "" is empty`}},
		{"manifest", func(memory.Allocator) []byte {
			return (&wire.Envelope{Type: wire.MsgManifest}).Encode(nil)
		}, want{typ: wire.MsgManifest}},
		{"info", func(memory.Allocator) []byte {
			return (&wire.Envelope{Type: wire.MsgInfo}).Encode(nil)
		}, want{typ: wire.MsgInfo}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			s := NewServer(testRegistry(t), WithAllocator(mem), WithLogger(nil))
			req := tc.req(mem)
			env, rec := readReply(t, s.handleMessage(context.Background(), req, nil))
			if rec != nil {
				defer rec.Release()
			}
			if env.Type != tc.want.typ {
				t.Fatalf("reply type %v (error %q), want %v", env.Type, env.Error, tc.want.typ)
			}
			if tc.want.err != "" && env.Error != tc.want.err {
				t.Errorf("error\n got %q\nwant %q", env.Error, tc.want.err)
			}
			if env.Type == wire.MsgError {
				if env.Error == "" {
					t.Errorf("error reply without a message")
				}
				if !utf8.ValidString(env.Error) || strings.IndexByte(env.Error, 0) >= 0 || !utf8.ValidString(env.Name) {
					t.Errorf("error reply echoes raw bytes: name %q, error %q", env.Name, env.Error)
				}
				if code := wire.ErrorCode(env.Payload); code != tc.want.code {
					t.Errorf("code %q (payload %q), want %q", code, env.Payload, tc.want.code)
				}
				if tc.want.code == "bad_name" && env.Name != "" {
					t.Errorf("bad name echoed in the envelope name: %q", env.Name)
				}
			}
			for name, vals := range tc.want.cols {
				if got := colString(t, rec, name); got != vals {
					t.Errorf("column %q = %s, want %s", name, got, vals)
				}
			}
		})
	}
}

func TestInfoAndManifestReplies(t *testing.T) {
	s := NewServer(testRegistry(t), WithMaxMessageSize(1234), WithLogger(nil))
	env, _ := readReply(t, s.handleMessage(context.Background(), (&wire.Envelope{Type: wire.MsgInfo}).Encode(nil), nil))
	var info wire.Info
	if err := json.Unmarshal(env.Payload, &info); err != nil {
		t.Fatal(err)
	}
	want := wire.Info{Protocol: 1, Server: "rgoipc", Version: Version, MaxMessageSize: 1234, Functions: 7,
		Features: append([]string{"codes", "header", "cancel"}, shmFeatures()...), Workers: defaultWorkers}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("info = %+v, want %+v", info, want)
	}

	env, _ = readReply(t, s.handleMessage(context.Background(), (&wire.Envelope{Type: wire.MsgManifest}).Encode(nil), nil))
	var manifest map[string]struct {
		Args []struct {
			Name     string
			Type     struct{ Type string }
			Optional bool
			Default  any
		}
		ReturnType struct{ Type string }
		Vectorized bool
		Metadata   map[string]string
	}
	if err := json.Unmarshal(env.Payload, &manifest); err != nil {
		t.Fatal(err)
	}
	add := manifest["add"]
	if len(add.Args) != 2 || add.Args[0].Name != "x" || add.Args[1].Type.Type != "float64" ||
		add.ReturnType.Type != "float64" || !add.Vectorized || add.Metadata["description"] != "x + y" {
		t.Errorf("manifest add = %+v", add)
	}
	if got := manifest["echo"].Metadata["variadic"]; got != "any" {
		t.Errorf("echo variadic = %q, want any", got)
	}
	if sc := manifest["scale"].Args[1]; !sc.Optional || sc.Default != 2.0 {
		t.Errorf("scale by = %+v, want optional with default 2", sc)
	}
}

// TestEchoEveryType round-trips each supported type through an "any"
// function and through a declared signature.
func TestEchoEveryType(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	tsType := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "America/New_York"}
	listType := arrow.ListOf(arrow.PrimitiveTypes.Int32)
	structType := arrow.StructOf(arrow.Field{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "age", Type: arrow.PrimitiveTypes.Int32, Nullable: true})
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	fields := []arrow.Field{
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "str", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "bool", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ts", Type: tsType, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "factor", Type: dictType, Nullable: true},
		{Name: "list", Type: listType, Nullable: true},
		{Name: "struct", Type: structType, Nullable: true},
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{1, 0}, []bool{true, false})
	b.Field(1).(*array.Int64Builder).AppendValues([]int64{1 << 40, 0}, []bool{true, false})
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{1.5, 0}, []bool{true, false})
	b.Field(3).(*array.StringBuilder).AppendValues([]string{"a", ""}, []bool{true, false})
	b.Field(4).(*array.BooleanBuilder).AppendValues([]bool{true, false}, []bool{true, false})
	b.Field(5).(*array.Date32Builder).AppendValues([]arrow.Date32{18262, 0}, []bool{true, false})
	b.Field(6).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1577890800000000, 0}, []bool{true, false})
	b.Field(7).(*array.BinaryBuilder).AppendValues([][]byte{{1, 2}, nil}, []bool{true, false})
	db := b.Field(8).(*array.BinaryDictionaryBuilder)
	if err := db.AppendString("lo"); err != nil {
		t.Fatal(err)
	}
	db.AppendNull()
	lb := b.Field(9).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
	lb.AppendNull()
	sb := b.Field(10).(*array.StructBuilder)
	sb.AppendValues([]bool{true, true})
	sb.FieldBuilder(0).(*array.StringBuilder).AppendValues([]string{"ann", "bob"}, nil)
	sb.FieldBuilder(1).(*array.Int32Builder).AppendValues([]int32{30, 40}, nil)
	in := b.NewRecordBatch()
	want := make([]string, len(fields))
	for i := range fields {
		want[i] = fmt.Sprint(in.Column(i))
	}
	payload := stream(t, in)

	reg := NewRegistry()
	args := make([]Arg, len(fields))
	types := []Type{Int32(), Int64(), Float64(), String(), Bool(), Date32(), Timestamp("us", "America/New_York"),
		Binary(), Dictionary(), List(Int32()), Struct(Field{"name", String()}, Field{"age", Int32()})}
	for i, f := range fields {
		args[i] = Arg{Name: f.Name, Type: types[i]}
	}
	echo := func(_ context.Context, a *Args) (arrow.RecordBatch, error) {
		rec := a.Record()
		rec.Retain()
		return rec, nil
	}
	if err := reg.HandleFunc("typed", Signature{Args: args, Returns: Any()}, echo); err != nil {
		t.Fatal(err)
	}
	if err := reg.HandleFunc("any", Signature{Variadic: &[]Type{Any()}[0], Returns: Any()}, echo); err != nil {
		t.Fatal(err)
	}
	s := NewServer(reg, WithAllocator(mem), WithLogger(nil))
	for _, fn := range []string{"typed", "any"} {
		t.Run(fn, func(t *testing.T) {
			req := (&wire.Envelope{Type: wire.MsgCall, Name: fn, Payload: payload}).Encode(nil)
			env, rec := readReply(t, s.handleMessage(context.Background(), req, nil))
			if env.Type != wire.MsgResult {
				t.Fatalf("reply %v: %s", env.Type, env.Error)
			}
			defer rec.Release()
			if !rec.Schema().Equal(schema) {
				t.Errorf("schema\n got %v\nwant %v", rec.Schema(), schema)
			}
			for i := range fields {
				if got := fmt.Sprint(rec.Column(i)); got != want[i] {
					t.Errorf("%s = %s, want %s", fields[i].Name, got, want[i])
				}
			}
		})
	}
}

// TestTypeMismatchMessages checks the "expected X, got Y" wording.
func TestTypeMismatchMessages(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		declared Type
		arr      func() arrow.Array
		want     string
	}{
		{Int32(), func() arrow.Array { return str(mem, "1") }, "expected int32, got string"},
		{Int32(), func() arrow.Array { return f64(mem, 1.0, nil, 2.5) }, "element 3 is 2.5, not a whole number"},
		{Int32(), func() arrow.Array { return f64(mem, 3e9) }, "element 1 is 3e+09, outside the range of int32"},
		{Int64(), func() arrow.Array { return f64(mem, 1.0, 0x1p63) }, "element 2 is 9.223372036854776e+18, outside the range of int64"},
		{String(), func() arrow.Array { return i32(mem, 1) }, "expected string, got int32"},
		{List(Float64()), func() arrow.Array { return str(mem, "a") }, "expected list<float64>, got string"},
		{Timestamp("ms", ""), func() arrow.Array {
			b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"})
			defer b.Release()
			b.Append(1)
			return b.NewArray()
		}, "expected timestamp[ms, tz=*], got timestamp[s, tz=UTC]"},
		{Float64().NotNull(), func() arrow.Array { return f64(mem, nil) }, "NA is not allowed (1 NA values)"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			reg := NewRegistry()
			err := reg.HandleFunc("f", Signature{Args: []Arg{{Name: "a", Type: tc.declared}}},
				func(context.Context, *Args) (arrow.RecordBatch, error) {
					t.Error("handler ran despite a mismatch")
					return nil, nil
				})
			if err != nil {
				t.Fatal(err)
			}
			s := NewServer(reg, WithAllocator(mem), WithLogger(nil))
			env, _ := readReply(t, s.handleMessage(context.Background(), callMsg(t, "f", col{"a", tc.arr()}), nil))
			if want := `f: argument "a": ` + tc.want; env.Error != want {
				t.Errorf("got %q, want %q", env.Error, want)
			}
		})
	}
}

// TestMalformedArrowNeverPanics feeds truncations of a valid call.
func TestMalformedArrowNeverPanics(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewServer(testRegistry(t), WithAllocator(mem), WithLogger(nil))
	full := callMsg(t, "add", col{"x", f64(mem, 1.0, 2.0)}, col{"y", f64(mem, 3.0, 4.0)})
	for n := 0; n < len(full); n++ {
		env, rec := readReply(t, s.handleMessage(context.Background(), full[:n], nil))
		if rec != nil {
			rec.Release()
		}
		if env.Type != wire.MsgError && env.Type != wire.MsgResult {
			t.Fatalf("prefix %d: reply type %v", n, env.Type)
		}
		if strings.Contains(env.Error, "internal error") {
			t.Fatalf("prefix %d: %s", n, env.Error)
		}
	}
}

// TestStreamShapes: several batches are joined; a schema without batches
// is a zero-row call.
func TestStreamShapes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewServer(testRegistry(t), WithAllocator(mem), WithLogger(nil))
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "y", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	tests := []struct {
		name    string
		batches [][2][]any
		want    string
	}{
		{"two batches", [][2][]any{{{1.0}, {2.0}}, {{3.0, nil}, {4.0, 5.0}}}, "[3 7 (null)]"},
		{"no batch", nil, "[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
			for _, b := range tc.batches {
				rec := record(col{"x", f64(mem, b[0]...)}, col{"y", f64(mem, b[1]...)})
				if err := w.Write(rec); err != nil {
					t.Fatal(err)
				}
				rec.Release()
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			req := (&wire.Envelope{Type: wire.MsgCall, Name: "add", Payload: buf.Bytes()}).Encode(nil)
			env, rec := readReply(t, s.handleMessage(context.Background(), req, nil))
			if rec == nil {
				t.Fatal(env.Error)
			}
			defer rec.Release()
			if got := colString(t, rec, "result"); got != tc.want {
				t.Errorf("result = %s, want %s", got, tc.want)
			}
		})
	}
}
