package rgoipc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mangoro/internal/wire"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// eos is the Arrow IPC end-of-stream marker every reply stream ends with.
var eos = []byte{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}

// col is one column of a test record.
type col struct {
	name string
	arr  arrow.Array
}

// f64 builds a float64 array; nil entries are NA.
func f64(mem memory.Allocator, vals ...any) arrow.Array {
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(v.(float64))
		}
	}
	return b.NewArray()
}

func i32(mem memory.Allocator, vals ...any) arrow.Array {
	b := array.NewInt32Builder(mem)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(int32(v.(int)))
		}
	}
	return b.NewArray()
}

func str(mem memory.Allocator, vals ...any) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(v.(string))
		}
	}
	return b.NewArray()
}

// record assembles columns into a record and releases the columns.
func record(cols ...col) arrow.RecordBatch {
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	n := int64(0)
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.arr.DataType(), Nullable: true}
		arrs[i] = c.arr
		n = int64(c.arr.Len())
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, n)
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// stream encodes rec as an Arrow IPC stream and releases it.
func stream(t testing.TB, rec arrow.RecordBatch) []byte {
	t.Helper()
	defer rec.Release()
	var buf bytes.Buffer
	if err := writeStream(&buf, rec, memory.DefaultAllocator, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// callMsg encodes a call envelope.
func callMsg(t testing.TB, fn string, cols ...col) []byte {
	t.Helper()
	var payload []byte
	if len(cols) > 0 {
		payload = stream(t, record(cols...))
	}
	return (&wire.Envelope{Type: wire.MsgCall, Name: fn, Payload: payload}).Encode(nil)
}

// readReply decodes a reply; for a result it checks the stream is complete
// and returns its record (caller releases).
func readReply(t testing.TB, b []byte) (wire.Envelope, arrow.RecordBatch) {
	t.Helper()
	env, err := wire.Decode(b)
	if err != nil {
		t.Fatalf("reply does not decode: %v", err)
	}
	if env.Type != wire.MsgResult {
		return env, nil
	}
	if !bytes.HasSuffix(env.Payload, eos) {
		t.Fatalf("result stream lacks the end-of-stream marker: ends % x", env.Payload[max(0, len(env.Payload)-8):])
	}
	r, err := ipc.NewReader(bytes.NewReader(env.Payload))
	if err != nil {
		t.Fatalf("result stream: %v", err)
	}
	defer r.Release()
	if !r.Next() {
		t.Fatalf("result stream has no batch: %v", r.Err())
	}
	rec := r.RecordBatch()
	rec.Retain()
	if r.Next() {
		t.Fatalf("result stream has more than one batch")
	}
	return env, rec
}

// funcCase is one call of a function registered with Registry.Func as "f".
type funcCase struct {
	name string
	fn   any
	opts []FuncOption
	cols func(mem memory.Allocator) []col
	want string // the reply's error, or the result as format gives it
}

// runFuncCases calls each case on a server with a checked allocator and
// compares the reply's error, or format of its result, with want.
func runFuncCases(t *testing.T, tests []funcCase, format func(t *testing.T, rec arrow.RecordBatch) string) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			reg := NewRegistry()
			if err := reg.Func("f", tc.fn, tc.opts...); err != nil {
				t.Fatal(err)
			}
			s := NewServer(reg, WithAllocator(mem), WithLogger(nil))
			env, rec := readReply(t, s.handleMessage(context.Background(), callMsg(t, "f", tc.cols(mem)...), nil))
			if rec == nil {
				if env.Error != tc.want {
					t.Fatalf("error %q, want %q", env.Error, tc.want)
				}
				return
			}
			defer rec.Release()
			if got := format(t, rec); got != tc.want {
				t.Errorf("result %s, want %s", got, tc.want)
			}
		})
	}
}

// colString formats column name of rec like "[1.5 (null)]".
func colString(t testing.TB, rec arrow.RecordBatch, name string) string {
	t.Helper()
	for i := 0; i < int(rec.NumCols()); i++ {
		if rec.ColumnName(i) == name {
			return fmt.Sprint(rec.Column(i))
		}
	}
	t.Fatalf("result has no column %q (schema %v)", name, rec.Schema())
	return ""
}

// addFloats is the example servers' add: x + y.
func addFloats(x, y []float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] + y[i]
	}
	return out
}

// testRegistry registers functions that exercise every path.
func testRegistry(t testing.TB) *Registry {
	t.Helper()
	reg := NewRegistry()
	err := errors.Join(
		reg.Func("add", addFloats, ArgNames("x", "y"), Describe("x + y")),
		reg.Func("echoString", func(x []*string) []*string { return x }, ArgNames("x")),
		reg.Func("fail", func(msg string) (bool, error) { return false, errors.New(msg) },
			ArgNames("message"), Default("message", "requested failure")),
		reg.HandleFunc("panic", Signature{Returns: Any()}, func(context.Context, *Args) (arrow.RecordBatch, error) {
			panic("requested panic")
		}),
		reg.HandleFunc("echo", Signature{Variadic: &[]Type{Any()}[0], Returns: Any()},
			func(_ context.Context, a *Args) (arrow.RecordBatch, error) {
				rec := a.Record()
				rec.Retain()
				return rec, nil
			}),
		reg.HandleFunc("scale", Signature{
			Args:    []Arg{{Name: "x", Type: Float64()}, {Name: "by", Type: Float64(), Optional: true, Default: 2.0}},
			Returns: Float64(),
		}, func(_ context.Context, a *Args) (arrow.RecordBatch, error) {
			x := a.Column("x").(*array.Float64)
			by := a.Column("by").(*array.Float64).Value(0)
			fb := array.NewFloat64Builder(a.Mem())
			defer fb.Release()
			for i, v := range x.Float64Values() {
				if x.IsNull(i) {
					fb.AppendNull()
				} else {
					fb.Append(v * by)
				}
			}
			col := fb.NewArray()
			defer col.Release()
			return NewResult(a.Mem()).Column("result", col).Record()
		}),
		// leaky returns a record and an error: the server must release it.
		reg.HandleFunc("leaky", Signature{Returns: Any()}, func(_ context.Context, a *Args) (arrow.RecordBatch, error) {
			col := f64(a.Mem(), nil)
			defer col.Release()
			rec, _ := NewResult(a.Mem()).Column("x", col).Record()
			return rec, errors.New("half done")
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
