package rgoipc_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"mangoro/pkg/rgoipc"
)

// call sends one call through srv.HandleMessage, the function every server
// worker runs, and prints the reply.
func call(srv *rgoipc.Server, fn string, rec arrow.RecordBatch) {
	var payload bytes.Buffer
	w := ipc.NewWriter(&payload, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		log.Fatal(err)
	}
	w.Close()
	req := (&rgoipc.Envelope{Type: rgoipc.MsgCall, Name: fn, Payload: payload.Bytes()}).Encode(nil)

	env, err := rgoipc.DecodeEnvelope(srv.HandleMessage(context.Background(), req, nil))
	if err != nil {
		log.Fatal(err)
	}
	if env.Type == rgoipc.MsgError {
		fmt.Println("error:", env.Error)
		return
	}
	r, err := ipc.NewReader(bytes.NewReader(env.Payload))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Release()
	for r.Next() {
		fmt.Println(r.RecordBatch().ColumnName(0), r.RecordBatch().Column(0))
	}
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
	srv := rgoipc.NewServer(reg)

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
	// error: add: argument "y": expected float64, got string
	// error: unknown function "mul"; available: add
}

// A low-level handler reads typed Arrow arrays and builds its result with
// a ResultBuilder.
func ExampleRegistry_HandleFunc() {
	reg := rgoipc.NewRegistry()
	sig := rgoipc.Signature{
		Args:    []rgoipc.Arg{{Name: "x", Type: rgoipc.String()}, {Name: "y", Type: rgoipc.Int32()}},
		Returns: rgoipc.String(),
	}
	err := reg.HandleFunc("repeat", sig, func(_ context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
		x, valid := args.StringValues("x")
		n := args.Int32("y")
		out := make([]string, len(x))
		for i := range x {
			for k := int32(0); k < n.Value(i); k++ {
				out[i] += x[i]
			}
		}
		return rgoipc.NewResult(args.Mem()).String("result", out, valid).Record()
	})
	if err != nil {
		log.Fatal(err)
	}
	mem := memory.DefaultAllocator
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"ab", ""}, []bool{true, false})
	nb := array.NewInt32Builder(mem)
	nb.AppendValues([]int32{3, 2}, nil)
	call(rgoipc.NewServer(reg), "repeat", twoColumns(sb.NewArray(), nb.NewArray()))
	// Output:
	// result ["ababab" (null)]
}

func ExampleDecodeEnvelope() {
	msg := (&rgoipc.Envelope{Type: rgoipc.MsgError, Name: "add", Error: "add: boom"}).Encode(nil)
	fmt.Printf("% x\n", msg)
	env, err := rgoipc.DecodeEnvelope(msg)
	fmt.Println(env.Type, env.Name, env.Error, err)
	_, err = rgoipc.DecodeEnvelope(msg[:10])
	fmt.Println(err)
	// Output:
	// 03 00 00 00 03 61 64 64 00 00 00 09 61 64 64 3a 20 62 6f 6f 6d
	// error add add: boom <nil>
	// rgoipc: malformed message: truncated error length
}
