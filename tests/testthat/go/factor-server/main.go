// Command factor-server declares a dictionary (R factor) argument, so the R
// tests can check that rgoipc's validation accepts the dictionaries mangoro
// writes and that the codes and levels arrive intact.
//
// Usage: factor-server <url>
//
// Functions: describe(f dictionary) -> one row per element of f: code (int32,
// 0-based index, NA for null), label (string), levels (number of levels),
// ordered (bool); keep(f dictionary) -> f unchanged.
package main

import (
	"context"
	"errors"
	"log"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"mangoro/pkg/rgoipc"
)

func main() {
	reg := rgoipc.NewRegistry()
	err := errors.Join(
		reg.HandleFunc("describe", rgoipc.Signature{
			Args:       []rgoipc.Arg{{Name: "f", Type: rgoipc.Dictionary()}},
			Returns:    rgoipc.Any(),
			Vectorized: true,
		}, describe),
		reg.HandleFunc("keep", rgoipc.Signature{
			Args:       []rgoipc.Arg{{Name: "f", Type: rgoipc.Dictionary()}},
			Returns:    rgoipc.Dictionary(),
			Vectorized: true,
		}, func(_ context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
			return rgoipc.NewResult(args.Mem()).Column("f", args.Column("f")).Record()
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	rgoipc.Main(reg)
}

func describe(_ context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
	f := args.Column("f").(*array.Dictionary)
	levels := f.Dictionary().(*array.String)
	ordered := f.DataType().(*arrow.DictionaryType).Ordered
	n := f.Len()
	codes := make([]int32, n)
	labels := make([]string, n)
	nlev := make([]int32, n)
	ord := make([]bool, n)
	valid := make([]bool, n)
	for i := 0; i < n; i++ {
		valid[i] = f.IsValid(i)
		nlev[i] = int32(levels.Len())
		ord[i] = ordered
		if valid[i] {
			codes[i] = int32(f.GetValueIndex(i))
			labels[i] = levels.Value(f.GetValueIndex(i))
		}
	}
	return rgoipc.NewResult(args.Mem()).
		Int32("code", codes, valid).
		String("label", labels, valid).
		Int32("levels", nlev, nil).
		Bool("ordered", ord, nil).
		Record()
}
