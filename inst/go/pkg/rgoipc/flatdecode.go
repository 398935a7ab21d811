package rgoipc

// A cached-schema fast path for the common request: one schema message, one
// record batch of flat columns, end of stream. It is written by hand
// because arrow-go's ipc.Reader parses the schema flatbuffer again for every
// stream (most of the cost of decoding a small request: 58 allocations of
// which this path keeps 13), and no arrow-go API loads one record batch
// message against a schema parsed earlier. The schema is still parsed by
// arrow-go, once: on a miss decodeRecord takes the ipc.Reader path and
// caches what it parsed, found next time by the bytes of the schema
// message. The batch is loaded as arrow-go's loader does (same buffers,
// same nil-for-empty rules); whatever this path does not recognise goes
// the ipc.Reader way, so both paths accept and refuse the same streams
// (TestDecodeRecordFastMatchesReader, FuzzDecodeRecordFast).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/endian"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"mangoro/internal/wire"
)

// rawMessage is one encapsulated IPC message, aliasing the stream.
type rawMessage struct {
	meta, body []byte
	kind       byte    // Message.header_type
	header     fbTable // the header table inside meta
}

// messageFrame reads an encapsulated message's prefix (continuation
// marker optional, as in pre-0.15 streams) and returns its size and the
// metadata length; n == 0 is the end-of-stream marker.
func messageFrame(data []byte) (prefix int, n uint32, err error) {
	if len(data) < 4 {
		return 0, 0, errors.New("truncated message prefix")
	}
	n = binary.LittleEndian.Uint32(data)
	prefix = 4
	if n == ipcContinuation {
		if len(data) < 8 {
			return 0, 0, errors.New("truncated message length")
		}
		n = binary.LittleEndian.Uint32(data[4:])
		prefix = 8
	}
	if uint64(n) > uint64(len(data)-prefix) {
		return 0, 0, fmt.Errorf("message metadata length %d exceeds the %d bytes left", n, len(data)-prefix)
	}
	return prefix, n, nil
}

// nextMessage splits the first message off data, verifying its metadata.
// At the end-of-stream marker m.meta is nil. Meta and body are capped
// (three-index slices), so nothing sliced from them can reach the bytes
// that follow.
func nextMessage(data []byte) (m rawMessage, rest []byte, err error) {
	prefix, n, err := messageFrame(data)
	if err != nil || n == 0 {
		return rawMessage{}, nil, err
	}
	end := prefix + int(n)
	m.meta = data[prefix:end:end]
	if err := verifyMessageMeta(m.meta); err != nil {
		return rawMessage{}, nil, err
	}
	bodyLen, err := m.parse()
	if err != nil {
		return rawMessage{}, nil, err
	}
	rest = data[end:]
	if bodyLen < 0 || bodyLen > int64(len(rest)) {
		return rawMessage{}, nil, fmt.Errorf("message body length %d exceeds the %d bytes left", bodyLen, len(rest))
	}
	m.body = rest[:bodyLen:bodyLen]
	return m, rest[bodyLen:], nil
}

// parse reads the header type, header and body length of verified
// metadata, as flatbuffers would (absent scalars are 0).
func (m *rawMessage) parse() (bodyLen int64, err error) {
	v := fbVerifier{buf: m.meta, tables: 2}
	root, err := v.deref(0)
	if err != nil {
		return 0, err
	}
	t, err := v.table(root)
	if err != nil {
		return 0, err
	}
	if p, _ := v.field(t, 1, 1); p >= 0 {
		m.kind = m.meta[p]
	}
	if p, _ := v.field(t, 3, 8); p >= 0 {
		bodyLen = int64(binary.LittleEndian.Uint64(m.meta[p:]))
	}
	m.header, _, err = v.sub(t, 2)
	return bodyLen, err
}

// Kinds of flat column, by the buffers arrow-go's loader reads for them.
const (
	flatNull   = iota // no buffers
	flatFixed         // validity, values (loadPrimitive)
	flatBinary        // validity, offsets, values (loadBinary)
)

var flatBuffers = [...]int{flatNull: 0, flatFixed: 2, flatBinary: 3}

// flatKind returns the kind of a column of type t, or -1 when the fast path
// does not load it.
func flatKind(t arrow.DataType) int {
	switch t.(type) {
	case *arrow.NullType:
		return flatNull
	case *arrow.BooleanType,
		*arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type,
		*arrow.Float16Type, *arrow.Float32Type, *arrow.Float64Type,
		*arrow.Date32Type, *arrow.Date64Type, *arrow.Time32Type, *arrow.Time64Type,
		*arrow.TimestampType, *arrow.DurationType:
		return flatFixed
	case *arrow.StringType, *arrow.LargeStringType, *arrow.BinaryType, *arrow.LargeBinaryType:
		return flatBinary
	}
	return -1
}

// requestSchemas caches the schemas of recent requests.
var requestSchemas flatSchemaCache

// flatSchemaCache maps the bytes of a schema message (prefix and metadata)
// to the schema arrow-go parsed from them. Like schemaCache it has fixed
// slots swapped atomically, entries never modified; a full cache replaces
// its slots in turn.
type flatSchemaCache struct {
	slots [8]atomic.Pointer[flatSchema]
	next  atomic.Uint32
}

type flatSchema struct {
	key     []byte // a copy: requests are reused after the call
	bodyLen int    // of the schema message (normally 0)
	schema  *arrow.Schema
	kinds   []uint8 // flatKind of each field
	nbufs   int     // buffers of one batch
}

func (c *flatSchemaCache) lookup(key []byte) *flatSchema {
	for i := range c.slots {
		if e := c.slots[i].Load(); e != nil && bytes.Equal(e.key, key) {
			return e
		}
	}
	return nil
}

// add caches schema, which arrow-go parsed from the first message of
// payload, when every field is flat and the stream needs no byte swapping.
// A field that names an extension type is not cached: whether arrow-go
// turns it into that type depends on what is registered at the time.
func (c *flatSchemaCache) add(payload []byte, schema *arrow.Schema) {
	prefix, n, err := messageFrame(payload)
	if err != nil || n == 0 || endian.IsBigEndian {
		return
	}
	key := payload[:prefix+int(n)]
	if c.lookup(key) != nil {
		return
	}
	nbufs := 0
	for i := 0; i < schema.NumFields(); i++ {
		f := schema.Field(i)
		k := flatKind(f.Type)
		if k < 0 || f.Metadata.FindKey(ipc.ExtensionTypeKeyName) >= 0 {
			return
		}
		nbufs += flatBuffers[k]
	}
	m, _, err := nextMessage(payload)
	if err != nil || m.kind != fbHeaderSchema {
		return
	}
	v := fbVerifier{buf: m.meta}
	if p, _ := v.field(m.header, 0, 2); p >= 0 && binary.LittleEndian.Uint16(m.meta[p:]) != 0 {
		return // not little-endian: arrow-go swaps the data
	}
	kinds := make([]uint8, schema.NumFields())
	for i := range kinds {
		kinds[i] = uint8(flatKind(schema.Field(i).Type))
	}
	e := &flatSchema{key: bytes.Clone(key), bodyLen: len(m.body), schema: schema, kinds: kinds, nbufs: nbufs}
	c.slots[c.next.Add(1)%uint32(len(c.slots))].Store(e)
}

// decode reads payload with a cached schema. ok is false, and the caller
// must use ipc.Reader, unless the stream is exactly [cached schema message]
// [record batch message][end-of-stream marker or nothing] with an
// uncompressed batch whose node and buffer vectors cover every field.
// Framing and metadata errors also give ok == false: ipc.Reader reports them.
func (c *flatSchemaCache) decode(payload []byte) (rec arrow.RecordBatch, ok bool, err error) {
	e, m, ok := c.batchOf(payload)
	if !ok {
		return nil, false, nil
	}
	return e.load(m)
}

// batchOf finds payload's cached schema and its batch message, when the
// stream has the shape decode reads.
func (c *flatSchemaCache) batchOf(payload []byte) (e *flatSchema, m rawMessage, ok bool) {
	prefix, n, err := messageFrame(payload)
	if err != nil || n == 0 {
		return nil, m, false
	}
	end := prefix + int(n)
	e = c.lookup(payload[:end])
	if e == nil || e.bodyLen > len(payload)-end {
		return nil, m, false
	}
	m, rest, err := nextMessage(payload[end+e.bodyLen:])
	if err != nil || m.kind != fbHeaderRecordBatch {
		return nil, m, false
	}
	if len(rest) > 0 {
		// Bytes after the end-of-stream marker are ignored, as ipc.Reader does.
		if _, n, err := messageFrame(rest); err != nil || n != 0 {
			return nil, m, false
		}
	}
	return e, m, true
}

// load builds the record of one batch message the way arrow-go's loader
// does (loadPrimitive, loadBinary, loadNull): a validity buffer only when
// null_count != 0, no values buffer for an empty fixed-width column, an
// empty buffer for a zero-length entry whatever its offset.
func (e *flatSchema) load(m rawMessage) (arrow.RecordBatch, bool, error) {
	meta := m.meta
	nodes, bufs, rows, ok := e.batchHeader(m)
	if !ok {
		return nil, false, nil
	}
	b := batchBuffers{meta: meta, at: bufs, body: m.body}
	var cols []arrow.Array
	if r := (*loadRoom)(nil); e.nbufs <= len(r.store) && len(e.kinds) <= len(r.cols) {
		r = new(loadRoom)
		b.store, b.ptrs, cols = r.store[:e.nbufs], r.ptrs[:e.nbufs], r.cols[:len(e.kinds)]
	} else {
		b.store, b.ptrs, cols = make([]memory.Buffer, e.nbufs), make([]*memory.Buffer, e.nbufs), make([]arrow.Array, len(e.kinds))
	}
	done := false // cols handed to the record
	defer func() {
		for _, c := range cols {
			if c != nil && !done {
				c.Release()
			}
		}
	}()
	ib := 0
	for i, k := range e.kinds {
		f := e.schema.Field(i)
		p := nodes + 16*i
		length := int64(binary.LittleEndian.Uint64(meta[p:]))
		nulls := int64(binary.LittleEndian.Uint64(meta[p+8:]))
		if length < 0 || length != rows {
			return nil, true, fmt.Errorf("%w: column %d has %d rows, the batch %d", wire.ErrMalformed, i, length, rows)
		}
		var bs []*memory.Buffer
		var err error
		switch k {
		case flatFixed:
			if err = b.take(ib, nulls != 0); err == nil {
				err = b.take(ib+1, length != 0)
			}
			if err == nil && length != 0 {
				err = checkFixed(f.Type, b.ptrs[ib+1].Len(), length)
			}
			bs = b.ptrs[ib : ib+2 : ib+2]
		case flatBinary:
			if err = b.take(ib, nulls != 0); err == nil {
				err = b.take(ib+1, true)
			}
			if err == nil {
				err = b.take(ib+2, true)
			}
			if err == nil {
				err = checkBinaryEnds(f.Type, b.ptrs[ib+1].Bytes(), b.ptrs[ib+2].Len(), length)
			}
			bs = b.ptrs[ib : ib+3 : ib+3]
		}
		if err != nil {
			return nil, true, fmt.Errorf("%w: column %q: %w", wire.ErrMalformed, f.Name, err)
		}
		ib += flatBuffers[k]
		d := array.NewData(f.Type, int(length), bs, nil, int(nulls), 0)
		cols[i] = array.MakeFromData(d)
		d.Release()
	}
	done = true
	return newBuiltRecord(e.schema, cols, rows), true, nil // each column made from its field's type
}

// loadRoom holds a small batch's buffers and columns: one allocation
// instead of three.
type loadRoom struct {
	store [6]memory.Buffer
	ptrs  [6]*memory.Buffer
	cols  [3]arrow.Array
}

// batchHeader reads batch m's node and buffer vectors (their offsets in
// m.meta) and its length; ok is false for what load leaves to arrow-go.
func (e *flatSchema) batchHeader(m rawMessage) (nodes, bufs int, rows int64, ok bool) {
	meta, rb := m.meta, m.header
	v := fbVerifier{buf: meta}
	// Compressed bodies and variadic (view) buffers are arrow-go's to read.
	if p, _ := v.field(rb, 3, 4); p >= 0 {
		return 0, 0, 0, false
	}
	if p, _ := v.field(rb, 4, 4); p >= 0 {
		return 0, 0, 0, false
	}
	nodes, nn, err1 := v.vector(rb, 1, 16)
	bufs, nb, err2 := v.vector(rb, 2, 16)
	// arrow-go reads elements past a vector's end without complaint; leave
	// such batches to it rather than guess what it would make of them.
	if err1 != nil || err2 != nil || nn < len(e.kinds) || nb < e.nbufs {
		return 0, 0, 0, false
	}
	if p, _ := v.field(rb, 0, 8); p >= 0 {
		rows = int64(binary.LittleEndian.Uint64(meta[p:]))
	}
	// A negative length means the first column's, as array.NewRecordBatch takes it.
	if rows < 0 {
		rows = 0
		if len(e.kinds) > 0 {
			rows = int64(binary.LittleEndian.Uint64(meta[nodes:]))
		}
	}
	return nodes, bufs, rows, true
}

// batchBuffers hands out the body buffers of one batch message.
type batchBuffers struct {
	meta  []byte
	at    int // the Buffer vector in meta
	body  []byte
	store []memory.Buffer // one allocation for all buffers
	ptrs  []*memory.Buffer
}

// take sets ptrs[i] to the i-th buffer when want (else it stays nil, as
// arrow-go leaves an absent validity or empty values buffer). The buffer
// aliases the body, capped so that no column reads past it.
func (b *batchBuffers) take(i int, want bool) error {
	if !want {
		return nil
	}
	p := b.at + 16*i
	off := int64(binary.LittleEndian.Uint64(b.meta[p:]))
	n := int64(binary.LittleEndian.Uint64(b.meta[p+8:]))
	b.ptrs[i] = &b.store[i]
	if n == 0 {
		return nil // empty, whatever the offset says
	}
	if off < 0 || n < 0 || off > int64(len(b.body))-n {
		b.ptrs[i] = nil
		return fmt.Errorf("buffer %d (offset %d, length %d) lies outside the %d-byte message body", i, off, n, len(b.body))
	}
	b.store[i].Reset(b.body[off : off+n : off+n])
	return nil
}

// checkFixed refuses a values buffer too short for length elements, which
// arrow-go's constructors would slice out of range.
func checkFixed(t arrow.DataType, size int, length int64) error {
	bw := t.(arrow.FixedWidthDataType).BitWidth()
	if bw < 8 {
		return nil // booleans: checkLayout checks the bitmap
	}
	if int64(size/(bw/8)) < length {
		return fmt.Errorf("data buffer has %d bytes, %d elements of %d bits needed", size, length, bw)
	}
	return nil
}

// checkBinaryEnds refuses what arrow-go's binary constructors panic on: too
// few offsets, or a last offset past the values. The rest is checkLayout's.
func checkBinaryEnds(t arrow.DataType, offsets []byte, values int, length int64) error {
	if length < 1 {
		return nil
	}
	w := int64(4)
	if t.ID() == arrow.LARGE_STRING || t.ID() == arrow.LARGE_BINARY {
		w = 8
	}
	if length >= int64(len(offsets))/w { // fewer than length+1 offsets
		return fmt.Errorf("offsets buffer too short for %d elements", length)
	}
	var last int64
	if w == 4 {
		last = int64(int32(binary.LittleEndian.Uint32(offsets[4*length:])))
	} else {
		last = int64(binary.LittleEndian.Uint64(offsets[8*length:]))
	}
	if last > int64(values) {
		return fmt.Errorf("last offset %d past the %d-byte values buffer", last, values)
	}
	return nil
}
