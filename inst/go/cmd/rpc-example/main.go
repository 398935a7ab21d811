// Command rpc-example serves the functions mangoro's tests and examples
// call. Usage: rpc-example <url>, e.g. rpc-example ipc:///tmp/x.sock.
//
// Some functions are plain Go functions registered with Registry.Func
// (signature derived from the Go types, NA handled for you); others are
// written against Arrow directly with Registry.HandleFunc, for types Func
// does not cover (struct, any), variadic column layouts, or when the
// handler wants to avoid every copy.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"mangoro/pkg/rgoipc"
)

func main() {
	reg := rgoipc.NewRegistry()
	if err := register(reg); err != nil {
		log.Fatal(err)
	}
	rgoipc.Main(reg)
}

func register(reg *rgoipc.Registry) error {
	return errors.Join(
		// Plain functions: the whole of "add" is the loop. Func declares
		// x and y float64 (R integers are cast), and NA in either input
		// gives NA in the output because both are plain slices.
		reg.Func("add", func(x, y []float64) []float64 {
			out := make([]float64, len(x))
			for i := range x {
				out[i] = x[i] + y[i]
			}
			return out
		}, rgoipc.ArgNames("x", "y"), rgoipc.Describe("Element-wise x + y; NA in either gives NA")),

		reg.Func("echoString", func(s []*string) []*string { return s },
			rgoipc.ArgNames("s"), rgoipc.Describe("Returns the character vector s unchanged, NA kept")),

		reg.Func("sleep", sleep,
			rgoipc.ArgNames("ms"), rgoipc.Describe("Sleeps ms milliseconds (cancelled at shutdown) and returns ms"),
			rgoipc.Meta("idempotent", "true")),

		reg.Func("fail", func(message string) (bool, error) {
			return false, errors.New(message)
		}, rgoipc.ArgNames("message"), rgoipc.Default("message", "requested failure"),
			rgoipc.Describe("Always fails with the given message (default \"requested failure\")")),

		// Integer types: R doubles holding whole numbers (2, not 2.5)
		// and R integers are accepted for x, as is a bare NA; k is a
		// scalar, so it takes one value.
		reg.Func("scaleInt64", func(x []*int64, k int) []*int64 {
			out := make([]*int64, len(x))
			for i, v := range x {
				if v != nil {
					p := *v * int64(k)
					out[i] = &p
				}
			}
			return out
		}, rgoipc.ArgNames("x", "k"), rgoipc.Describe("x * k for integer64 x and one integer k; NA stays NA")),

		reg.Func("spin", spin,
			rgoipc.ArgNames("n"), rgoipc.Describe("CPU-bound: n iterations of floating-point arithmetic; returns the accumulator"),
			// A pool retries an idempotent call on another worker when its worker dies.
			rgoipc.Meta("idempotent", "true")),

		// Low-level handlers: the same job as the functions above, written
		// against Arrow arrays. Compare transposeMatrix with add: it needs
		// explicit Signature, typed getters and a ResultBuilder, but can
		// read any number of columns and name its outputs.
		reg.HandleFunc("transposeMatrix", rgoipc.Signature{
			Variadic:   ptr(rgoipc.Float64()),
			Returns:    rgoipc.Any(),
			Vectorized: true,
		}, transposeMatrix, rgoipc.Describe("Takes n float64 columns of m rows; returns m columns V1..Vm of n rows (the transpose)")),

		reg.HandleFunc("echoStruct", rgoipc.Signature{
			Args: []rgoipc.Arg{{Name: "person", Type: rgoipc.Struct(
				rgoipc.Field{Name: "name", Type: rgoipc.String()},
				// R sends integer ages as int32 and double ages as
				// float64; "any" keeps whichever came.
				rgoipc.Field{Name: "age", Type: rgoipc.Any()},
			)}},
			Returns:    rgoipc.Struct(rgoipc.Field{Name: "name", Type: rgoipc.String()}, rgoipc.Field{Name: "age", Type: rgoipc.Any()}),
			Vectorized: true,
		}, echoStruct, rgoipc.Describe("Returns the data.frame column person (name, age) unchanged, as column person")),

		reg.HandleFunc("echo", rgoipc.Signature{
			Variadic: ptr(rgoipc.Any()),
			Returns:  rgoipc.Any(),
		}, echo, rgoipc.Describe("Returns its arguments unchanged, whatever their types (round-trip tests)")),

		reg.HandleFunc("crash", rgoipc.Signature{Returns: rgoipc.Any()},
			func(context.Context, *rgoipc.Args) (arrow.RecordBatch, error) {
				panic("requested panic")
			}, rgoipc.Describe("Panics; the server answers with an error and keeps serving")),
	)
}

func ptr[T any](v T) *T { return &v }

func sleep(ctx context.Context, ms float64) (float64, error) {
	if ms < 0 || math.IsNaN(ms) {
		return 0, fmt.Errorf("ms must be a non-negative number, got %v", ms)
	}
	t := time.NewTimer(time.Duration(ms * float64(time.Millisecond)))
	defer t.Stop()
	select {
	case <-t.C:
		return ms, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("interrupted: %w", ctx.Err())
	}
}

func spin(n float64) float64 {
	acc := 0.0
	for i := 0; i < int(n); i++ {
		acc = acc*0.999999 + math.Sqrt(float64(i))
	}
	return acc
}

func transposeMatrix(_ context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
	n, m := args.NumVariadic(), args.Len()
	cols := make([]*array.Float64, n)
	for j := range cols {
		_, c := args.Variadic(j)
		cols[j] = c.(*array.Float64) // the signature guarantees it
	}
	fb := array.NewFloat64Builder(args.Mem())
	defer fb.Release()
	res := rgoipc.NewResult(args.Mem())
	for i := 0; i < m; i++ {
		fb.Reserve(n)
		for _, c := range cols {
			if c.IsNull(i) {
				fb.AppendNull()
			} else {
				fb.Append(c.Value(i))
			}
		}
		row := fb.NewArray() // and fb starts afresh
		res.Column(fmt.Sprintf("V%d", i+1), row)
		row.Release()
	}
	return res.Record()
}

func echoStruct(_ context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
	return rgoipc.NewResult(args.Mem()).Column("person", args.Column("person")).Record()
}

func echo(_ context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
	rec := args.Record()
	rec.Retain() // the server releases both its own reference and ours
	return rec, nil
}
