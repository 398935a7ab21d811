package rgoipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestFuncSignatures(t *testing.T) {
	tests := []struct {
		name       string
		fn         any
		opts       []FuncOption
		args       string // "x:float64 y:int32"
		variadic   string
		returns    string
		vectorized bool
	}{
		{"plain slices", func(x []float64, y []int32) []float64 { return nil }, []FuncOption{ArgNames("x", "y")},
			"x:float64 y:int32", "", kindFloat64, true},
		{"pointers and context", func(ctx context.Context, s []*string) ([]*bool, error) { return nil, nil },
			[]FuncOption{ArgNames("s")}, "s:string", "", kindBool, true},
		{"scalars", func(n int, b bool, s string, i int64) int { return 0 }, []FuncOption{ArgNames("n", "b", "s", "i")},
			"n:int32 b:bool s:string i:int64", "", kindInt32, false},
		{"variadic", func(cols ...[]float64) float64 { return 0 }, nil, "", kindFloat64, kindFloat64, true},
		{"binary", func(b [][]byte) [][]byte { return b }, []FuncOption{ArgNames("b")}, "b:binary", "", kindBinary, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := NewRegistry()
			if err := reg.Func("f", tc.fn, tc.opts...); err != nil {
				t.Fatal(err)
			}
			sig, _ := reg.signature("f")
			var got []string
			for _, a := range sig.Args {
				got = append(got, a.Name+":"+string(a.Type.Kind))
			}
			if strings.Join(got, " ") != tc.args {
				t.Errorf("args = %q, want %q", strings.Join(got, " "), tc.args)
			}
			if (sig.Variadic == nil) != (tc.variadic == "") || (sig.Variadic != nil && sig.Variadic.Kind != tc.variadic) {
				t.Errorf("variadic = %v, want %q", sig.Variadic, tc.variadic)
			}
			if sig.Returns.Kind != tc.returns || sig.Vectorized != tc.vectorized {
				t.Errorf("returns %s vectorized %v, want %s %v", sig.Returns.Kind, sig.Vectorized, tc.returns, tc.vectorized)
			}
		})
	}
}

func TestRegistrationErrors(t *testing.T) {
	noop := func(context.Context, *Args) (arrow.RecordBatch, error) { return nil, nil }
	tests := []struct {
		name string
		reg  func(r *Registry) error
		want error
	}{
		{"duplicate", func(r *Registry) error {
			_ = r.HandleFunc("f", Signature{}, noop)
			return r.HandleFunc("f", Signature{}, noop)
		}, ErrDuplicate},
		{"duplicate Func", func(r *Registry) error {
			_ = r.Func("f", func(x []float64) []float64 { return x }, ArgNames("x"))
			return r.Func("f", func(x []float64) []float64 { return x }, ArgNames("x"))
		}, ErrDuplicate},
		{"empty name", func(r *Registry) error { return r.HandleFunc("", Signature{}, noop) }, ErrInvalidSignature},
		{"nil handler", func(r *Registry) error { return r.Handle("f", Signature{}, nil) }, ErrInvalidSignature},
		{"argument twice", func(r *Registry) error {
			return r.HandleFunc("f", Signature{Args: []Arg{{Name: "x", Type: Int32()}, {Name: "x", Type: Int32()}}}, noop)
		}, ErrInvalidSignature},
		{"unnamed argument", func(r *Registry) error {
			return r.HandleFunc("f", Signature{Args: []Arg{{Type: Int32()}}}, noop)
		}, ErrInvalidSignature},
		{"unknown kind", func(r *Registry) error {
			return r.HandleFunc("f", Signature{Args: []Arg{{Name: "x", Type: Type{Kind: "complex"}}}}, noop)
		}, ErrInvalidSignature},
		{"bad unit", func(r *Registry) error {
			return r.HandleFunc("f", Signature{Args: []Arg{{Name: "x", Type: Timestamp("days", "")}}}, noop)
		}, ErrInvalidSignature},
		{"default of wrong type", func(r *Registry) error {
			return r.HandleFunc("f", Signature{Args: []Arg{{Name: "x", Type: Int32()}}}, noop, Default("x", "one"))
		}, ErrInvalidSignature},
		{"default for unknown argument", func(r *Registry) error {
			return r.HandleFunc("f", Signature{}, noop, Default("x", 1))
		}, ErrInvalidSignature},
		{"not a function", func(r *Registry) error { return r.Func("f", 42) }, ErrInvalidSignature},
		{"unsupported parameter", func(r *Registry) error {
			return r.Func("f", func(x []float32) []float64 { return nil }, ArgNames("x"))
		}, ErrInvalidSignature},
		{"unsupported result", func(r *Registry) error {
			return r.Func("f", func(x []float64) map[string]int { return nil }, ArgNames("x"))
		}, ErrInvalidSignature},
		{"second result unsupported", func(r *Registry) error {
			return r.Func("f", func(x []float64) ([]float64, map[string]int) { return nil, nil }, ArgNames("x"))
		}, ErrInvalidSignature},
		{"missing ArgNames", func(r *Registry) error {
			return r.Func("f", func(x, y []float64) []float64 { return nil })
		}, ErrInvalidSignature},
		{"wrong number of ArgNames", func(r *Registry) error {
			return r.Func("f", func(x, y []float64) []float64 { return nil }, ArgNames("x"))
		}, ErrInvalidSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.reg(NewRegistry())
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "rgoipc: ") {
				t.Errorf("error %q does not start with \"rgoipc: \"", err)
			}
		})
	}
}

// TestFuncCalls runs reflected functions end to end, NA handling included.
func TestFuncCalls(t *testing.T) {
	ptr := func(s string) *string { return &s }
	tests := []funcCase{
		{"plain slices propagate NA", func(x, y []float64) []float64 {
			out := make([]float64, len(x))
			for i := range x {
				out[i] = x[i] * y[i]
			}
			return out
		}, []FuncOption{ArgNames("x", "y")}, func(m memory.Allocator) []col {
			return []col{{"x", f64(m, 2.0, nil, 3.0)}, {"y", i32(m, 5, 1, nil)}}
		}, "[10 (null) (null)]"},
		{"pointer slices see NA", func(x []*float64) []*string {
			out := make([]*string, len(x))
			for i, v := range x {
				if v == nil {
					out[i] = ptr("missing")
				} else if *v > 0 {
					out[i] = ptr("positive")
				}
			}
			return out
		}, []FuncOption{ArgNames("x")}, func(m memory.Allocator) []col {
			return []col{{"x", f64(m, 1.0, nil, -1.0)}}
		}, `["positive" "missing" (null)]`},
		{"strings", func(s []string) []int32 {
			out := make([]int32, len(s))
			for i := range s {
				out[i] = int32(len(s[i]))
			}
			return out
		}, []FuncOption{ArgNames("s")}, func(m memory.Allocator) []col {
			return []col{{"s", str(m, "abc", nil)}}
		}, "[3 (null)]"},
		{"scalar and context", func(ctx context.Context, n int, label string) (string, error) {
			if ctx == nil {
				return "", errors.New("no context")
			}
			return strings.Repeat(label, n), nil
		}, []FuncOption{ArgNames("n", "label")}, func(m memory.Allocator) []col {
			return []col{{"n", i32(m, 3)}, {"label", str(m, "ab")}}
		}, `["ababab"]`},
		{"scalar on empty column", func(n float64) float64 { return n }, []FuncOption{ArgNames("n")},
			func(m memory.Allocator) []col { return []col{{"n", f64(m)}} },
			`f: argument "n": needs a value, got a length-0 column`},
		{"scalar given several values", func(n float64) float64 { return n }, []FuncOption{ArgNames("n")},
			func(m memory.Allocator) []col { return []col{{"n", f64(m, 1.0, 2.0)}} },
			`f: argument "n": takes one value (a scalar Go parameter), got 2 values that differ (row 2)`},
		{"scalar recycled beside a column", func(x []float64, k float64) []float64 {
			out := make([]float64, len(x))
			for i := range x {
				out[i] = x[i] * k
			}
			return out
		}, []FuncOption{ArgNames("x", "k")}, func(m memory.Allocator) []col {
			return []col{{"x", f64(m, 1.0, 2.0, 3.0)}, {"k", f64(m, 2.0, 2.0, 2.0)}}
		}, "[2 4 6]"},
		{"whole double for int", func(n int) int { return n + 1 }, []FuncOption{ArgNames("n")},
			func(m memory.Allocator) []col { return []col{{"n", f64(m, 2.0)}} }, "[3]"},
		{"fractional double for int", func(n int) int { return n }, []FuncOption{ArgNames("n")},
			func(m memory.Allocator) []col { return []col{{"n", f64(m, 2.5)}} },
			`f: argument "n": element 1 is 2.5, not a whole number`},
		{"[]int takes whole doubles", func(x []int) []int { return x }, []FuncOption{ArgNames("x")},
			func(m memory.Allocator) []col { return []col{{"x", f64(m, 1.0, nil, 3.0)}} }, "[1 (null) 3]"},
		{"R integers for int64", func(x []int64) []int64 { return x }, []FuncOption{ArgNames("x")},
			func(m memory.Allocator) []col { return []col{{"x", i32(m, 1, 2)}} }, "[1 2]"},
		{"bare NA for a string", func(s []*string) []bool {
			out := make([]bool, len(s))
			for i := range s {
				out[i] = s[i] == nil
			}
			return out
		}, []FuncOption{ArgNames("s")}, func(m memory.Allocator) []col {
			return []col{{"s", boolNA(m, 1)}}
		}, "[true]"},
		{"error result", func(x []float64) ([]float64, error) { return nil, errors.New("bad input") },
			[]FuncOption{ArgNames("x")}, func(m memory.Allocator) []col { return []col{{"x", f64(m, 1.0)}} },
			"f: bad input"},
		{"int result out of range", func(x float64) int { return 1 << 40 }, []FuncOption{ArgNames("x")},
			func(m memory.Allocator) []col { return []col{{"x", f64(m, 1.0)}} },
			"f: result 1099511627776 does not fit an R integer"},
		{"variadic", func(cols ...[]float64) []float64 {
			out := make([]float64, len(cols[0]))
			for _, c := range cols {
				for i := range c {
					out[i] += c[i]
				}
			}
			return out
		}, nil, func(m memory.Allocator) []col {
			return []col{{"a", f64(m, 1.0, 2.0)}, {"b", i32(m, 10, nil)}, {"c", f64(m, 100.0, 200.0)}}
		}, "[111 (null)]"},
		{"variadic wrong type", func(cols ...[]float64) float64 { return 0 }, nil,
			func(m memory.Allocator) []col { return []col{{"a", f64(m, 1.0)}, {"b", str(m, "x")}} },
			`f: argument "b": expected float64, got string`},
	}
	runFuncCases(t, tests, func(t *testing.T, rec arrow.RecordBatch) string { return colString(t, rec, "result") })
}

func TestTypeString(t *testing.T) {
	tests := []struct {
		typ  Type
		want string
	}{
		{Float64(), "float64"},
		{List(Int32()), "list<int32>"},
		{Struct(Field{"name", String()}, Field{"age", Any()}), "struct<name: string, age: any>"},
		{Timestamp("us", "UTC"), "timestamp[us, tz=UTC]"},
		{Timestamp("", ""), "timestamp"},
		{Dictionary(), "dictionary<int32, string>"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.typ.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNestedCast checks that int32 inside a list or struct becomes float64
// where float64 is declared, and that the cast data is released.
func TestNestedCast(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	reg := NewRegistry()
	echo := func(_ context.Context, a *Args) (arrow.RecordBatch, error) {
		return NewResult(a.Mem()).Column("x", a.Column("x")).Record()
	}
	if err := reg.HandleFunc("st", Signature{Args: []Arg{{Name: "x", Type: Struct(Field{"a", String()}, Field{"b", Float64()})}}}, echo); err != nil {
		t.Fatal(err)
	}
	if err := reg.HandleFunc("ls", Signature{Args: []Arg{{Name: "x", Type: List(Float64())}}}, echo); err != nil {
		t.Fatal(err)
	}
	s := NewServer(reg, WithAllocator(mem), WithLogger(nil))

	stIn := record(col{"a", str(mem, "p", "q")}, col{"b", i32(mem, 1, nil)})
	stArr := recordToStruct(stIn)
	env, rec := readReply(t, s.handleMessage(context.Background(), callMsg(t, "st", col{"x", stArr}), nil))
	if rec == nil {
		t.Fatalf("st: %s", env.Error)
	}
	if got, want := rec.Column(0).DataType().String(), "struct<a: utf8, b: float64>"; got != want {
		t.Errorf("st type = %s, want %s", got, want)
	}
	if got := fmt.Sprint(rec.Column(0)); got != `{["p" "q"] [1 (null)]}` {
		t.Errorf("st = %s", got)
	}
	rec.Release()

	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int32)
	lb.Append(true)
	lb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{1, 2}, []bool{true, false})
	lb.AppendNull()
	lsArr := lb.NewArray()
	lb.Release()
	env, rec = readReply(t, s.handleMessage(context.Background(), callMsg(t, "ls", col{"x", lsArr}), nil))
	if rec == nil {
		t.Fatalf("ls: %s", env.Error)
	}
	defer rec.Release()
	if got, want := rec.Column(0).DataType().String(), "list<item: float64, nullable>"; got != want {
		t.Errorf("ls type = %s, want %s", got, want)
	}
	if got := fmt.Sprint(rec.Column(0)); got != `[[1 (null)] (null)]` {
		t.Errorf("ls = %s", got)
	}
}

// recordToStruct turns a record into a struct array and releases it.
func recordToStruct(rec arrow.RecordBatch) arrow.Array {
	defer rec.Release()
	return array.RecordToStructArray(rec)
}

// TestFuncMarksScalars checks that the manifest says which Func parameters
// take one value (R prints them so), and that JSON leaves the key out for
// the others.
func TestFuncMarksScalars(t *testing.T) {
	reg := NewRegistry()
	if err := reg.Func("f", func(x []float64, k float64, s []*string) []float64 { return x },
		ArgNames("x", "k", "s")); err != nil {
		t.Fatal(err)
	}
	sig, _ := reg.signature("f")
	var got []bool
	for _, a := range sig.Args {
		got = append(got, a.Scalar)
	}
	if fmt.Sprint(got) != "[false true false]" {
		t.Errorf("Scalar = %v, want [false true false]", got)
	}
	b, err := json.Marshal(sig.Args)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"Scalar":true`); n != 1 || strings.Contains(string(b), `"Scalar":false`) {
		t.Errorf("manifest args %s: want one \"Scalar\":true and no false", b)
	}
}
