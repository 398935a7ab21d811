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

// describe builds its result with arrow-go's own RecordBuilder: a handler
// may return any record matching its declared result.
func describe(_ context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
	f := args.Column("f").(*array.Dictionary)
	levels := f.Dictionary().(*array.String)
	ordered := f.DataType().(*arrow.DictionaryType).Ordered
	rb := array.NewRecordBuilder(args.Mem(), arrow.NewSchema([]arrow.Field{
		{Name: "code", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "levels", Type: arrow.PrimitiveTypes.Int32},
		{Name: "ordered", Type: arrow.FixedWidthTypes.Boolean},
	}, nil))
	defer rb.Release()
	code := rb.Field(0).(*array.Int32Builder)
	label := rb.Field(1).(*array.StringBuilder)
	nlev := rb.Field(2).(*array.Int32Builder)
	ord := rb.Field(3).(*array.BooleanBuilder)
	for i := 0; i < f.Len(); i++ {
		if f.IsNull(i) {
			code.AppendNull()
			label.AppendNull()
		} else {
			code.Append(int32(f.GetValueIndex(i)))
			label.Append(levels.Value(f.GetValueIndex(i)))
		}
		nlev.Append(int32(levels.Len()))
		ord.Append(ordered)
	}
	return rb.NewRecordBatch(), nil
}
