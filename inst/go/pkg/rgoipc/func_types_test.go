package rgoipc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

type person struct {
	Name string   `r:"name"`
	Age  *float64 // NA allowed
	Born Date     `r:"born"`
	//lint:ignore U1000 Func must skip unexported fields
	private int
	Skip    string `r:"-"`
}

func ts(mem memory.Allocator, tz string, vals ...any) arrow.Array {
	b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: tz})
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(arrow.Timestamp(v.(int64)))
		}
	}
	return b.NewArray()
}

func dates(mem memory.Allocator, vals ...any) arrow.Array {
	b := array.NewDate32Builder(mem)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(arrow.Date32(v.(int)))
		}
	}
	return b.NewArray()
}

func TestFuncTypeSignatures(t *testing.T) {
	tests := []struct {
		name    string
		fn      any
		nargs   int
		args    string
		returns string
	}{
		{"int slices", func(x []int, y []*int) []int { return nil }, 2, "int32 int32", "int32"},
		{"dates", func(d []Date, e Date) []*Date { return nil }, 2, "date32 date32", "date32"},
		{"times", func(t []*time.Time, u time.Time) []time.Time { return nil }, 2, "timestamp timestamp", "timestamp"},
		{"raw", func(b []byte) []byte { return b }, 1, "binary", "binary"},
		{"list", func(x [][]float64) [][]*string { return nil }, 1, "list<float64>", "list<string>"},
		{"frame", func(p []person) []person { return p }, 1,
			"struct<name: string, Age: float64, born: date32>", "struct<name: string, Age: float64, born: date32>"},
		{"several results", func(x []float64) ([]float64, int, error) { return nil, 0, nil }, 1,
			"float64", "struct<result1: float64, result2: int32>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			names := []string{"a", "b"}[:tc.nargs]
			reg := NewRegistry()
			if err := reg.Func("f", tc.fn, ArgNames(names...)); err != nil {
				t.Fatal(err)
			}
			sig, _ := reg.signature("f")
			var got []string
			for _, a := range sig.Args {
				got = append(got, a.Type.String())
			}
			if strings.Join(got, " ") != tc.args || sig.Returns.String() != tc.returns {
				t.Errorf("args %q returns %q, want %q and %q", strings.Join(got, " "), sig.Returns, tc.args, tc.returns)
			}
		})
	}
}

func TestFuncTypeRegistrationErrors(t *testing.T) {
	type bad struct{ M map[string]int }
	type hidden struct {
		//lint:ignore U1000 Func must refuse a struct without exported fields
		x int
	}
	tests := []struct {
		name string
		fn   any
		want string
	}{
		{"map parameter", func(m map[string]int) int { return 0 }, "parameter 1 has unsupported type map[string]int; supported: float64"},
		{"struct with bad field", func(b []bad) int { return 0 }, "parameter 1 has unsupported type []rgoipc.bad"},
		{"struct without exported fields", func(b []hidden) int { return 0 }, "unsupported type []rgoipc.hidden"},
		{"frame among results", func(x int) ([]person, int) { return nil, 0 }, "must be the only result"},
		{"only an error", func(x int) error { return nil }, "want at least one result"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := NewRegistry().Func("f", tc.fn, ArgNames("x"))
			if !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestFuncTypeCalls runs the new mappings end to end on a checked allocator.
func TestFuncTypeCalls(t *testing.T) {
	tests := []funcCase{
		{"int slice propagates NA", func(x []int) []int {
			out := make([]int, len(x))
			for i, v := range x {
				out[i] = v * 2
			}
			return out
		}, []FuncOption{ArgNames("x")}, func(m memory.Allocator) []col {
			return []col{{"x", i32(m, 1, nil, 3)}}
		}, "result=[2 (null) 6]"},
		{"dates", func(d []*Date) []*Date {
			for _, p := range d {
				if p != nil {
					*p += 7
				}
			}
			return d
		}, []FuncOption{ArgNames("d")}, func(m memory.Allocator) []col {
			return []col{{"d", dates(m, 0, nil)}}
		}, "result=[7 (null)]"},
		{"times keep their zone", func(t []*time.Time) []*time.Time {
			out := make([]*time.Time, len(t))
			for i, p := range t {
				if p != nil {
					v := p.Add(time.Hour)
					if p.Location().String() != "America/New_York" {
						v = time.Time{}
					}
					out[i] = &v
				}
			}
			return out
		}, []FuncOption{ArgNames("t")}, func(m memory.Allocator) []col {
			return []col{{"t", ts(m, "America/New_York", int64(0), nil)}}
		}, "result=[3600000000 (null)] tz=America/New_York"},
		{"raw", func(b []byte) []byte { return append([]byte{0}, b...) }, []FuncOption{ArgNames("b")},
			func(m memory.Allocator) []col {
				bb := array.NewBinaryBuilder(m, arrow.BinaryTypes.Binary)
				defer bb.Release()
				bb.Append([]byte{1, 2})
				return []col{{"b", bb.NewArray()}}
			}, `result=["\x00\x01\x02"]`},
		{"list columns", func(x [][]float64) [][]float64 {
			out := make([][]float64, len(x))
			for i, v := range x {
				if v != nil {
					out[i] = append([]float64{float64(len(v))}, v...)
				}
			}
			return out
		}, []FuncOption{ArgNames("x")}, func(m memory.Allocator) []col {
			lb := array.NewListBuilder(m, arrow.PrimitiveTypes.Float64)
			defer lb.Release()
			vb := lb.ValueBuilder().(*array.Float64Builder)
			lb.Append(true)
			vb.AppendValues([]float64{5, 6}, nil)
			lb.AppendNull()
			lb.Append(true)
			return []col{{"x", lb.NewArray()}}
		}, "result=[[2 5 6] (null) [0]]"},
		{"data frame in and out", func(p []person) []person {
			for i := range p {
				p[i].Name = strings.ToUpper(p[i].Name)
				p[i].Born++
			}
			return p
		}, []FuncOption{ArgNames("p")}, func(m memory.Allocator) []col {
			rec := record(col{"name", str(m, "ann", "bob")}, col{"Age", f64(m, 40.0, nil)}, col{"born", dates(m, 1, 2)})
			return []col{{"p", recordToStruct(rec)}}
		}, `name=["ANN" "BOB"];Age=[40 (null)];born=[2 3]`},
		{"several results", func(x []float64) (sum float64, n int, err error) {
			for _, v := range x {
				sum += v
			}
			return sum, len(x), nil
		}, []FuncOption{ArgNames("x"), Meta("result_names", "sum,n")}, func(m memory.Allocator) []col {
			return []col{{"x", f64(m, 1.0, 2.5)}}
		}, "sum=[3.5];n=[2]"},
		{"results of different lengths", func(x []float64) ([]float64, string) {
			return x, "done"
		}, []FuncOption{ArgNames("x"), Meta("result_names", "x,msg")}, func(m memory.Allocator) []col {
			return []col{{"x", f64(m, 1.0, 2.0)}}
		}, `x=[[1 2]];msg=[["done"]];.mangoro_named_list=[true]`},
		{"error among several results", func(x []float64) ([]float64, int, error) {
			return nil, 0, fmt.Errorf("no")
		}, []FuncOption{ArgNames("x")}, func(m memory.Allocator) []col {
			return []col{{"x", f64(m, 1.0)}}
		}, "f: no"},
		{"bad time zone", func(t []time.Time) int { return 0 }, []FuncOption{ArgNames("t")},
			func(m memory.Allocator) []col { return []col{{"t", ts(m, "Nowhere/Atlantis", int64(0))}} },
			`f: argument "t": time zone "Nowhere/Atlantis": unknown time zone Nowhere/Atlantis`},
	}
	// Every column as "name=values", a time zone appended: "a=[1];b=[x]".
	runFuncCases(t, tests, func(t *testing.T, rec arrow.RecordBatch) string {
		var got []string
		for i := 0; i < int(rec.NumCols()); i++ {
			got = append(got, rec.ColumnName(i)+"="+fmt.Sprint(rec.Column(i)))
			if tt, ok := rec.Column(i).DataType().(*arrow.TimestampType); ok {
				got[i] += " tz=" + tt.TimeZone
			}
		}
		return strings.Join(got, ";")
	})
}

func TestDate(t *testing.T) {
	d := DateOf(time.Date(2024, 2, 29, 23, 0, 0, 0, time.FixedZone("x", -5*3600)))
	if d.String() != "2024-02-29" || d.Time().Unix() != int64(d)*86400 {
		t.Errorf("DateOf = %v (%d)", d, d)
	}
}
