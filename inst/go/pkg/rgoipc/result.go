package rgoipc

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ResultBuilder assembles a result record column by column:
//
//	return rgoipc.NewResult(args.Mem()).Float64("result", out, valid).Record()
//
// Each method takes a name, the values and an optional validity slice
// (valid[i] == false makes element i NA; nil means no NA). The first error
// (e.g. columns of different lengths) is kept and returned by Record.
// Numeric slices are wrapped without copying: do not modify them after
// passing them in.
type ResultBuilder struct {
	mem    memory.Allocator
	fields []arrow.Field
	cols   []arrow.Array
	err    error
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
	b.fields = append(b.fields, arrow.Field{Name: name, Type: arr.DataType(), Nullable: true})
	b.cols = append(b.cols, arr)
	return b
}

// bitmap returns a validity buffer for valid, or nil (no NA).
func (b *ResultBuilder) bitmap(name string, n int, valid []bool) (*memory.Buffer, int) {
	if valid == nil {
		return nil, 0
	}
	if len(valid) != n && b.err == nil {
		b.err = fmt.Errorf("rgoipc: result column %q: %d validity flags for %d values", name, len(valid), n)
		return nil, 0
	}
	buf := memory.NewResizableBuffer(b.mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	bits := buf.Bytes()
	nulls := 0
	for i, ok := range valid {
		if ok {
			bitutil.SetBit(bits, i)
		} else {
			bitutil.ClearBit(bits, i)
			nulls++
		}
	}
	return buf, nulls
}

func fixed[T int32 | int64 | float64](b *ResultBuilder, name string, dt arrow.DataType, vals []T, valid []bool, cast func([]T) []byte) *ResultBuilder {
	nb, nulls := b.bitmap(name, len(vals), valid)
	data := array.NewData(dt, len(vals), []*memory.Buffer{nb, memory.NewBufferBytes(cast(vals))}, nil, nulls, 0)
	if nb != nil {
		nb.Release()
	}
	arr := array.MakeFromData(data)
	data.Release()
	return b.add(name, arr)
}

// Float64 appends a float64 column.
func (b *ResultBuilder) Float64(name string, vals []float64, valid []bool) *ResultBuilder {
	return fixed(b, name, arrow.PrimitiveTypes.Float64, vals, valid, arrow.Float64Traits.CastToBytes)
}

// Int32 appends an int32 column.
func (b *ResultBuilder) Int32(name string, vals []int32, valid []bool) *ResultBuilder {
	return fixed(b, name, arrow.PrimitiveTypes.Int32, vals, valid, arrow.Int32Traits.CastToBytes)
}

// Int64 appends an int64 column.
func (b *ResultBuilder) Int64(name string, vals []int64, valid []bool) *ResultBuilder {
	return fixed(b, name, arrow.PrimitiveTypes.Int64, vals, valid, arrow.Int64Traits.CastToBytes)
}

// Bool appends a boolean column.
func (b *ResultBuilder) Bool(name string, vals []bool, valid []bool) *ResultBuilder {
	bb := array.NewBooleanBuilder(b.mem)
	defer bb.Release()
	bb.AppendValues(vals, b.checkValid(name, len(vals), valid))
	return b.add(name, bb.NewArray())
}

// String appends a string column.
func (b *ResultBuilder) String(name string, vals []string, valid []bool) *ResultBuilder {
	sb := array.NewStringBuilder(b.mem)
	defer sb.Release()
	size := 0
	for _, s := range vals {
		size += len(s)
	}
	sb.ReserveData(size)
	sb.AppendValues(vals, b.checkValid(name, len(vals), valid))
	return b.add(name, sb.NewArray())
}

func (b *ResultBuilder) checkValid(name string, n int, valid []bool) []bool {
	if valid != nil && len(valid) != n {
		if b.err == nil {
			b.err = fmt.Errorf("rgoipc: result column %q: %d validity flags for %d values", name, len(valid), n)
		}
		return nil
	}
	return valid
}

// Record returns the result and hands its reference to the caller (return
// it from the handler). After an error nothing is left to release.
func (b *ResultBuilder) Record() (arrow.RecordBatch, error) {
	defer b.Release()
	if b.err != nil {
		return nil, b.err
	}
	n := int64(0)
	if len(b.cols) > 0 {
		n = int64(b.cols[0].Len())
	}
	return array.NewRecordBatch(arrow.NewSchema(b.fields, nil), b.cols, n), nil
}

// Release drops the columns added so far. Record calls it; call it yourself
// only when abandoning a builder.
func (b *ResultBuilder) Release() {
	for _, c := range b.cols {
		c.Release()
	}
	b.cols, b.fields = nil, nil
}
