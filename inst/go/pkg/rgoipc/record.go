package rgoipc

// A record batch over columns that match their schema by construction.
//
// Why not array.NewRecordBatch: it checks every column's type against its
// field with arrow.TypeEqual, which for most types is reflect.DeepEqual, and
// copies the column slice. A small call made two such records (the request
// and the result), which cost more than its Arrow decode (bench/PROFILE.md,
// round five). The flat decoder builds each column from its field's own type
// and ResultBuilder each field from its column's type, so there is nothing
// to check; everything else keeps using arrow-go's records.

import (
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

type builtRecord struct {
	refs   atomic.Int64
	schema *arrow.Schema
	rows   int64
	cols   []arrow.Array
}

// newBuiltRecord takes over the caller's references to cols, which must have
// rows rows each and the types of schema's fields, in order.
func newBuiltRecord(schema *arrow.Schema, cols []arrow.Array, rows int64) *builtRecord {
	r := &builtRecord{schema: schema, rows: rows, cols: cols}
	r.refs.Store(1)
	return r
}

func (r *builtRecord) Retain() { r.refs.Add(1) }

func (r *builtRecord) Release() {
	if r.refs.Add(-1) == 0 {
		for _, c := range r.cols {
			c.Release()
		}
		r.cols = nil
	}
}

func (r *builtRecord) Schema() *arrow.Schema    { return r.schema }
func (r *builtRecord) NumRows() int64           { return r.rows }
func (r *builtRecord) NumCols() int64           { return int64(len(r.cols)) }
func (r *builtRecord) Columns() []arrow.Array   { return r.cols }
func (r *builtRecord) Column(i int) arrow.Array { return r.cols[i] }
func (r *builtRecord) ColumnName(i int) string  { return r.schema.Field(i).Name }

func (r *builtRecord) String() string {
	c := r.arrow()
	defer c.Release()
	return fmt.Sprint(c)
}

func (r *builtRecord) MarshalJSON() ([]byte, error) {
	c := r.arrow()
	defer c.Release()
	return c.MarshalJSON()
}

// SetColumn and NewSlice are arrow-go's, checks and all.
func (r *builtRecord) SetColumn(i int, col arrow.Array) (arrow.RecordBatch, error) {
	c := r.arrow()
	defer c.Release()
	return c.SetColumn(i, col)
}

func (r *builtRecord) NewSlice(i, j int64) arrow.RecordBatch {
	c := r.arrow()
	defer c.Release()
	return c.NewSlice(i, j)
}

// arrow is the same batch as an arrow-go record (sharing the columns).
func (r *builtRecord) arrow() arrow.RecordBatch {
	return array.NewRecordBatch(r.schema, r.cols, r.rows)
}
