package rgoipc_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"mangoro/pkg/rgoipc"
	"mangoro/pkg/rgoipc/rgoipctest"
)

// call calls fn on srv the way R does and prints the result or the error.
func call(srv *rgoipctest.Server, fn string, rec arrow.RecordBatch) {
	out, err := srv.Call(fn, rec)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer out.Release()
	fmt.Println(out.ColumnName(0), out.Column(0))
}

func twoColumns(x, y arrow.Array) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: x.DataType(), Nullable: true},
		{Name: "y", Type: y.DataType(), Nullable: true}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{x, y}, int64(x.Len()))
}

// A plain Go function becomes an R-callable function; NA propagates, and
// an R integer column is accepted for a float64 argument.
func ExampleRegistry_Func() {
	reg := rgoipc.NewRegistry()
	err := reg.Func("add", func(x, y []float64) []float64 {
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] + y[i]
		}
		return out
	}, rgoipc.ArgNames("x", "y"), rgoipc.Describe("x + y"))
	if err != nil {
		log.Fatal(err)
	}
	srv := rgoipctest.NewServer(reg)
	defer srv.Close()

	mem := memory.DefaultAllocator
	xb := array.NewInt32Builder(mem)
	xb.AppendValues([]int32{1, 0, 3}, []bool{true, false, true})
	yb := array.NewFloat64Builder(mem)
	yb.AppendValues([]float64{0.5, 1, 2}, nil)
	y := yb.NewArray()
	call(srv, "add", twoColumns(xb.NewArray(), y))

	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"a", "b", "c"}, nil)
	call(srv, "add", twoColumns(y, sb.NewArray()))
	call(srv, "mul", twoColumns(y, y))
	// Output:
	// result [1.5 (null) 5]
	// error: add: argument "y": expected float64, got string [bad_arguments]
	// error: unknown function "mul"; available: add [unknown_function]
}

// A low-level handler reads the argument columns as arrow-go arrays, builds
// its result columns with arrow-go's builders and names them with a
// ResultBuilder.
func ExampleRegistry_HandleFunc() {
	reg := rgoipc.NewRegistry()
	sig := rgoipc.Signature{
		Args:    []rgoipc.Arg{{Name: "x", Type: rgoipc.String()}, {Name: "y", Type: rgoipc.Int32()}},
		Returns: rgoipc.String(),
	}
	err := reg.HandleFunc("repeat", sig, func(_ context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
		x := args.Column("x").(*array.String)
		n := args.Column("y").(*array.Int32)
		sb := array.NewStringBuilder(args.Mem())
		defer sb.Release()
		for i := 0; i < x.Len(); i++ {
			if x.IsNull(i) {
				sb.AppendNull()
			} else {
				sb.Append(strings.Repeat(x.Value(i), int(n.Value(i))))
			}
		}
		out := sb.NewArray()
		defer out.Release()
		return rgoipc.NewResult(args.Mem()).Column("result", out).Record()
	})
	if err != nil {
		log.Fatal(err)
	}
	mem := memory.DefaultAllocator
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"ab", ""}, []bool{true, false})
	nb := array.NewInt32Builder(mem)
	nb.AppendValues([]int32{3, 2}, nil)
	srv := rgoipctest.NewServer(reg)
	defer srv.Close()
	call(srv, "repeat", twoColumns(sb.NewArray(), nb.NewArray()))
	// Output:
	// result ["ababab" (null)]
}

// A handler gives its error a code of its own with Coded; R's condition
// carries it in its field "code".
func ExampleCoded() {
	reg := rgoipc.NewRegistry()
	err := reg.Func("lookup", func(id string) (string, error) {
		return "", rgoipc.Coded("not_found", fmt.Errorf("no user %q", id))
	}, rgoipc.ArgNames("id"))
	if err != nil {
		log.Fatal(err)
	}
	srv := rgoipctest.NewServer(reg)
	defer srv.Close()
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	sb.Append("ann")
	id := sb.NewArray()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "id", Type: id.DataType()}}, nil), []arrow.Array{id}, 1)
	call(srv, "lookup", rec)
	// Output:
	// error: lookup: no user "ann" [not_found]
}
