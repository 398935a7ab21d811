package rgoipc

import (
	"bytes"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"mangoro/internal/wire"
)

// ipcContinuation starts every encapsulated Arrow IPC message.
const ipcContinuation = 0xFFFFFFFF

// emptySchema is the schema of a call without arguments.
var emptySchema = arrow.NewSchema(nil, nil)

// decodeRecord reads the Arrow IPC stream in payload and returns its rows
// as one record, which the caller owns. An empty payload is a call without
// arguments. The record's buffers alias payload (no copy), so payload must
// stay untouched while the record lives. Every failure, including a panic
// inside arrow-go on hostile input, returns an error wrapping wire.ErrMalformed.
func decodeRecord(payload []byte, mem memory.Allocator) (arrow.RecordBatch, error) {
	return decodeRecordCached(payload, mem, &requestSchemas)
}

// decodeRecordCached is decodeRecord with the schema cache to use (see
// flatdecode.go); nil reads every stream with ipc.Reader.
func decodeRecordCached(payload []byte, mem memory.Allocator, cache *flatSchemaCache) (rec arrow.RecordBatch, err error) {
	if len(payload) == 0 {
		return array.NewRecordBatch(emptySchema, nil, 0), nil
	}
	var batches []arrow.RecordBatch
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: Arrow stream: %v", wire.ErrMalformed, p)
		}
		if err != nil {
			for _, b := range batches {
				b.Release()
			}
			if rec != nil {
				rec.Release()
				rec = nil
			}
		}
	}()
	if cache != nil {
		var ok bool
		if rec, ok, err = cache.decode(payload); ok {
			if err != nil {
				return nil, err
			}
			return rec, checkColumns(rec)
		}
	}
	// Decoding itself allocates little (the data is aliased); the budget
	// stops hostile metadata (e.g. a huge "uncompressed size") from making
	// us allocate more than a small multiple of what was actually sent.
	lim := &limitedAllocator{mem: mem, left: 4*int64(len(payload)) + 1<<20}
	r, err := ipc.NewReaderFromMessageReader(newSliceMessageReader(payload), ipc.WithAllocator(lim))
	if err != nil {
		return nil, fmt.Errorf("%w: Arrow stream: %w", wire.ErrMalformed, err)
	}
	defer r.Release()
	for r.Next() {
		b := r.RecordBatch()
		b.Retain()
		batches = append(batches, b)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("%w: Arrow stream: %w", wire.ErrMalformed, err)
	}
	switch len(batches) {
	case 0:
		schema := r.Schema()
		if schema == nil { // only an end-of-stream marker
			schema = emptySchema
		}
		cols := emptyColumns(schema, mem)
		rec = array.NewRecordBatch(schema, cols, 0)
		for _, c := range cols {
			c.Release()
		}
	case 1:
		rec, batches = batches[0], nil
		if cache != nil {
			cache.add(payload, rec.Schema())
		}
	default:
		rec, err = concatBatches(r.Schema(), batches, mem)
		if err != nil {
			return nil, err
		}
	}
	return rec, checkColumns(rec)
}

// checkColumns checks every column's length and layout (checkLayout).
func checkColumns(rec arrow.RecordBatch) error {
	n := rec.NumRows()
	for i, col := range rec.Columns() {
		if int64(col.Len()) != n {
			return fmt.Errorf("%w: column %d has %d rows, the batch %d", wire.ErrMalformed, i, col.Len(), n)
		}
		if err := checkLayout(col.Data()); err != nil {
			return fmt.Errorf("%w: column %q: %w", wire.ErrMalformed, rec.ColumnName(i), err)
		}
	}
	return nil
}

// emptyColumns returns zero-length columns (owned by the caller) for a
// stream with a schema and no batches.
func emptyColumns(schema *arrow.Schema, mem memory.Allocator) []arrow.Array {
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		// MakeArrayOfNull panics on some types (string_view); decodeRecord
		// recovers, but the columns made before would leak.
		if p := recover(); p != nil {
			for _, c := range cols {
				if c != nil {
					c.Release()
				}
			}
			panic(p)
		}
	}()
	for i, f := range schema.Fields() {
		cols[i] = array.MakeArrayOfNull(mem, f.Type, 0)
	}
	return cols
}

// concatBatches joins several batches into one record and releases them.
func concatBatches(schema *arrow.Schema, batches []arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	cols := make([]arrow.Array, schema.NumFields())
	var rows int64
	for _, b := range batches {
		rows += b.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(batches))
		for j, b := range batches {
			parts[j] = b.Column(i)
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			for _, c := range cols[:i] {
				c.Release()
			}
			return nil, fmt.Errorf("%w: Arrow stream: %w", wire.ErrMalformed, err)
		}
		cols[i] = c
	}
	rec := array.NewRecordBatch(schema, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// sliceMessageReader is an ipc.MessageReader over a byte slice. Unlike
// ipc.NewMessageReader it checks every length against the bytes actually
// present before slicing, allocates nothing, and aliases the message
// bodies instead of copying them.
type sliceMessageReader struct {
	data []byte
	refs atomic.Int64
	cur  *ipc.Message
}

func newSliceMessageReader(b []byte) *sliceMessageReader {
	r := &sliceMessageReader{data: b}
	r.refs.Add(1)
	return r
}

func (r *sliceMessageReader) Retain() { r.refs.Add(1) }

func (r *sliceMessageReader) Release() {
	if r.refs.Add(-1) == 0 && r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

// Message returns the next message, valid until the next call. The end of
// the data counts as the end of the stream even without the end-of-stream
// marker; truncation inside a message is an error.
func (r *sliceMessageReader) Message() (*ipc.Message, error) {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if len(r.data) == 0 {
		return nil, io.EOF
	}
	m, rest, err := nextMessage(r.data)
	if err != nil {
		return nil, err
	}
	r.data = rest
	if m.meta == nil {
		return nil, io.EOF // end-of-stream marker; what follows is ignored
	}
	r.cur = ipc.NewMessage(memory.NewBufferBytes(m.meta), memory.NewBufferBytes(m.body))
	return r.cur, nil
}

// limitedAllocator panics (recovered by decodeRecord) once more than left
// bytes in total have been requested.
type limitedAllocator struct {
	mem  memory.Allocator
	left int64
}

func (a *limitedAllocator) take(n int) {
	if atomic.AddInt64(&a.left, -int64(n)) < 0 {
		panic(fmt.Sprintf("decoding would allocate more than the message size allows (%d bytes requested)", n))
	}
}

func (a *limitedAllocator) Allocate(size int) []byte {
	a.take(size)
	return a.mem.Allocate(size)
}

func (a *limitedAllocator) Reallocate(size int, b []byte) []byte {
	a.take(size - len(b))
	return a.mem.Reallocate(size, b)
}

func (a *limitedAllocator) Free(b []byte) { a.mem.Free(b) }

// writeStream writes rec as a complete Arrow IPC stream (schema, batch,
// end-of-stream marker) to buf. For a schema without dictionaries the schema
// message is encoded once and reused (replySchemas): arrow-go's Writer would
// encode it again for every reply, a good part of a small call's cost. A
// non-nil d gets the large buffers of a flat batch instead of buf
// (writeBatch).
func writeStream(buf *bytes.Buffer, rec arrow.RecordBatch, mem memory.Allocator, d *detached) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rgoipc: writing result: %v", p)
		}
	}()
	if msg := replySchemas.message(rec.Schema(), mem); msg != nil {
		buf.Write(msg)
		if writeBatch(buf, rec, d) { // flat columns: batchwrite.go
			buf.Write(endOfStream[:])
			return nil
		}
		p, err := ipc.GetRecordBatchPayload(rec, ipc.WithAllocator(mem))
		if err != nil {
			return fmt.Errorf("rgoipc: writing result: %w", err)
		}
		defer p.Release()
		if _, err := p.WritePayload(buf); err != nil {
			return fmt.Errorf("rgoipc: writing result: %w", err)
		}
		buf.Write(endOfStream[:])
		return nil
	}
	w := ipc.NewWriter(buf, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
	if err := w.Write(rec); err != nil {
		_ = w.Close()
		return fmt.Errorf("rgoipc: writing result: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("rgoipc: writing result: %w", err)
	}
	return nil
}

// endOfStream is the Arrow IPC end-of-stream marker.
var endOfStream = [8]byte{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}

// replySchemas caches the encoded schema messages of recent result schemas.
var replySchemas schemaCache

// schemaCache holds a few encoded schema messages, found by schema equality
// (metadata included); a full cache replaces its slots in turn. Safe for
// concurrent use: slots are swapped atomically and never modified.
type schemaCache struct {
	slots [8]atomic.Pointer[cachedSchema]
	next  atomic.Uint32
}

type cachedSchema struct {
	schema *arrow.Schema
	msg    []byte // continuation, length, flatbuffer, padding
}

// message returns the encoded schema message of schema, or nil when the
// schema holds a dictionary (dictionary batches need arrow-go's Writer).
func (c *schemaCache) message(schema *arrow.Schema, mem memory.Allocator) []byte {
	for i := range c.slots {
		if e := c.slots[i].Load(); e != nil && sameSchema(e.schema, schema) {
			return e.msg
		}
	}
	for _, f := range schema.Fields() {
		if hasDictionary(f.Type) {
			return nil
		}
	}
	p := ipc.GetSchemaPayload(schema, mem)
	defer p.Release()
	var b bytes.Buffer
	if _, err := p.WritePayload(&b); err != nil {
		return nil
	}
	e := &cachedSchema{schema: schema, msg: b.Bytes()}
	c.slots[c.next.Add(1)%uint32(len(c.slots))].Store(e)
	return e.msg
}

// schemaFor returns a schema of fields (no metadata). Schemas of recent
// field lists are reused, so a call that builds the same result every time
// builds no schema (a map and three allocations) and hits replySchemas on
// the pointer.
func schemaFor(fields []arrow.Field) *arrow.Schema {
	for i := range recentSchemas.slots {
		if sc := recentSchemas.slots[i].Load(); sc != nil && sameFields(sc, fields) {
			return sc
		}
	}
	sc := arrow.NewSchema(fields, nil)
	recentSchemas.slots[recentSchemas.next.Add(1)%uint32(len(recentSchemas.slots))].Store(sc)
	return sc
}

// recentSchemas holds the schemas schemaFor made last, replaced in turn.
// Schemas are immutable, so they are shared freely.
var recentSchemas struct {
	slots [8]atomic.Pointer[arrow.Schema]
	next  atomic.Uint32
}

// sameFields reports whether sc, a schema without metadata, has exactly
// these fields.
func sameFields(sc *arrow.Schema, fields []arrow.Field) bool {
	if sc.NumFields() != len(fields) || sc.HasMetadata() || !sc.IsNativeEndian() {
		return false
	}
	for i := range fields {
		if !sameField(sc.Field(i), fields[i]) {
			return false
		}
	}
	return true
}

// sameSchema is Schema.Equal plus equal metadata, without allocating (Equal
// sorts metadata keys even when there are none).
func sameSchema(a, b *arrow.Schema) bool {
	if a == b {
		return true
	}
	if a.NumFields() != b.NumFields() || a.Endianness() != b.Endianness() || !sameMetadata(a.Metadata(), b.Metadata()) {
		return false
	}
	for i := 0; i < a.NumFields(); i++ {
		if !sameField(a.Field(i), b.Field(i)) {
			return false
		}
	}
	return true
}

func sameField(a, b arrow.Field) bool {
	return a.Name == b.Name && a.Nullable == b.Nullable && sameMetadata(a.Metadata, b.Metadata) &&
		sameType(a.Type, b.Type)
}

// sameType is arrow.TypeEqual (metadata checked) with a shortcut for the
// types that have no parameters: for them TypeEqual is reflect.DeepEqual, a
// cost on every call.
func sameType(a, b arrow.DataType) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if a.ID() != b.ID() {
		return false
	}
	switch a.ID() {
	case arrow.NULL, arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.BINARY, arrow.LARGE_STRING, arrow.LARGE_BINARY, arrow.DATE32, arrow.DATE64:
		return true
	}
	return arrow.TypeEqual(a, b, arrow.CheckMetadata())
}

// sameMetadata is Metadata.Equal without its sort when both are empty (the
// usual case).
func sameMetadata(a, b arrow.Metadata) bool {
	if a.Len() == 0 && b.Len() == 0 {
		return true
	}
	return a.Equal(b)
}

// hasDictionary reports whether t is or holds a dictionary type.
func hasDictionary(t arrow.DataType) bool {
	if t.ID() == arrow.DICTIONARY {
		return true
	}
	if n, ok := t.(arrow.NestedType); ok {
		for _, f := range n.Fields() {
			if hasDictionary(f.Type) {
				return true
			}
		}
	}
	return false
}

// streamSizeHint estimates the encoded size of rec so the reply buffer is
// allocated once.
func streamSizeHint(rec arrow.RecordBatch) int {
	n := 512
	for _, c := range rec.Columns() {
		n += 256 + dataSize(c.Data())
	}
	return n
}

func dataSize(d arrow.ArrayData) int {
	n := 0
	for _, b := range d.Buffers() {
		if b != nil {
			n += b.Len() + 8
		}
	}
	for _, c := range d.Children() {
		n += dataSize(c)
	}
	if dict := dictionaryOf(d); dict != nil {
		n += dataSize(dict) + 256
	}
	return n
}

// dictionaryOf returns the dictionary of d, or nil. (Data.Dictionary
// returns a typed nil inside the interface when there is none.)
func dictionaryOf(d arrow.ArrayData) arrow.ArrayData {
	if d.DataType().ID() != arrow.DICTIONARY {
		return nil
	}
	dict := d.Dictionary()
	if dd, ok := dict.(*array.Data); ok && dd == nil {
		return nil
	}
	return dict
}
