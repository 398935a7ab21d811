package rgoipc

import (
	"bytes"
	"encoding/binary"
	"errors"
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
func decodeRecord(payload []byte, mem memory.Allocator) (rec arrow.RecordBatch, err error) {
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
	default:
		rec, err = concatBatches(r.Schema(), batches, mem)
		if err != nil {
			return nil, err
		}
	}
	n := rec.NumRows()
	for i, col := range rec.Columns() {
		if int64(col.Len()) != n {
			return nil, fmt.Errorf("%w: column %d has %d rows, the batch %d", wire.ErrMalformed, i, col.Len(), n)
		}
		if err := checkLayout(col.Data()); err != nil {
			return nil, fmt.Errorf("%w: column %q: %w", wire.ErrMalformed, rec.ColumnName(i), err)
		}
	}
	return rec, nil
}

// emptyColumns returns zero-length columns (owned by the caller) for a
// stream with a schema and no batches.
func emptyColumns(schema *arrow.Schema, mem memory.Allocator) []arrow.Array {
	cols := make([]arrow.Array, schema.NumFields())
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
	if len(r.data) < 4 {
		return nil, errors.New("truncated message prefix")
	}
	n := binary.LittleEndian.Uint32(r.data)
	r.data = r.data[4:]
	if n == ipcContinuation {
		if len(r.data) < 4 {
			return nil, errors.New("truncated message length")
		}
		n = binary.LittleEndian.Uint32(r.data)
		r.data = r.data[4:]
	}
	if n == 0 {
		r.data = nil
		return nil, io.EOF // end-of-stream marker
	}
	if uint64(n) > uint64(len(r.data)) {
		return nil, fmt.Errorf("message metadata length %d exceeds the %d bytes left", n, len(r.data))
	}
	if err := verifyMessageMeta(r.data[:n]); err != nil {
		return nil, err
	}
	meta := memory.NewBufferBytes(r.data[:n])
	r.data = r.data[n:]
	// The body length lives in the flatbuffer; parse it before slicing.
	probe := ipc.NewMessage(meta, memory.NewBufferBytes(nil))
	bodyLen := probe.BodyLen()
	probe.Release()
	if bodyLen < 0 || bodyLen > int64(len(r.data)) {
		return nil, fmt.Errorf("message body length %d exceeds the %d bytes left", bodyLen, len(r.data))
	}
	body := memory.NewBufferBytes(r.data[:bodyLen])
	r.data = r.data[bodyLen:]
	r.cur = ipc.NewMessage(meta, body)
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
// end-of-stream marker) to buf.
func writeStream(buf *bytes.Buffer, rec arrow.RecordBatch, mem memory.Allocator) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rgoipc: writing result: %v", p)
		}
	}()
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
