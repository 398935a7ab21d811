package rgoipc

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ResultBuilder assembles a result record from arrow-go arrays, one named
// column at a time; build each column with arrow-go's own builders:
//
//	fb := array.NewFloat64Builder(args.Mem())
//	defer fb.Release()
//	fb.AppendValues(out, valid) // valid[i] == false makes element i NA; nil: no NA
//	col := fb.NewArray()
//	defer col.Release()
//	return rgoipc.NewResult(args.Mem()).Column("result", col).Record()
//
// The first error (columns of different lengths) is kept and returned by
// Record.
type ResultBuilder struct {
	mem    memory.Allocator
	fields []arrow.Field
	cols   []arrow.Array
	err    error
	// Room for the usual one column, so that it costs no allocation.
	field1 [1]arrow.Field
	col1   [1]arrow.Array
}

// NewResult starts an empty result that allocates from mem.
func NewResult(mem memory.Allocator) *ResultBuilder {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &ResultBuilder{mem: mem}
}

// Column appends arr, which the builder retains (the caller keeps its own
// reference and releases it as usual).
func (b *ResultBuilder) Column(name string, arr arrow.Array) *ResultBuilder {
	arr.Retain()
	return b.add(name, arr)
}

func (b *ResultBuilder) add(name string, arr arrow.Array) *ResultBuilder {
	if b.err == nil && len(b.cols) > 0 && b.cols[0].Len() != arr.Len() {
		b.err = fmt.Errorf("rgoipc: result column %q has %d rows, column %q has %d",
			name, arr.Len(), b.fields[0].Name, b.cols[0].Len())
	}
	if b.cols == nil && b.col1[0] == nil { // once: a record may hold col1 after
		b.fields, b.cols = b.field1[:0], b.col1[:0]
	}
	b.fields = append(b.fields, arrow.Field{Name: name, Type: arr.DataType(), Nullable: true})
	b.cols = append(b.cols, arr)
	return b
}

// Record returns the result and hands its reference to the caller (return
// it from the handler). After an error nothing is left to release.
func (b *ResultBuilder) Record() (arrow.RecordBatch, error) {
	if b.err != nil {
		b.Release()
		return nil, b.err
	}
	n := int64(0)
	if len(b.cols) > 0 {
		n = int64(b.cols[0].Len())
	}
	// add checked the lengths and made each field from its column's type.
	rec := newBuiltRecord(schemaFor(b.fields), b.cols, n)
	b.cols, b.fields = nil, nil // handed to rec
	return rec, nil
}

// Release drops the columns added so far (Record hands them to the record,
// or drops them on an error); call it yourself only when abandoning a
// builder.
func (b *ResultBuilder) Release() {
	for _, c := range b.cols {
		c.Release()
	}
	b.cols, b.fields = nil, nil
}
