package rgoipc

// A hand-written encoder for the RecordBatch message of a flat result.
//
// Why it exists: arrow-go's ipc.GetRecordBatchPayload builds the batch
// metadata with a fresh flatbuffers.Builder for every record, collects the
// body in a slice of retained buffers and copies the metadata into one more
// allocated buffer. For a small call (add on one row) that was about 8 us of
// the 35 us the server spends per call, most of it allocation; the whole
// budget of a small call is tens of microseconds. Here the metadata is built
// straight into the reply's free space and the buffers are copied after it:
// no allocation at all.
//
// Only what is simple and common is covered (flatBatchType): columns of a
// fixed-width primitive type, bool, or (large) utf8/binary, no dictionary,
// no children, no extension type. Everything else, and any array whose
// buffers do not add up (a malformed array), goes through arrow-go.
//
// The bytes are the ones arrow-go writes (batchwrite_test.go compares them):
// the same buffer lengths (arrow-go sends a buffer whole when it is at most
// its length padded to 64 bytes, else cuts it; a sliced array's bitmaps are
// re-based and its offsets shifted to start at 0; a validity bitmap only when
// some value is null) and the same flatbuffer layout, which is what
// flatbuffers.Builder produces: built back to front, fields prepended in the
// order arrow-go adds them, each aligned as the Builder aligns it (relative
// to the end), fields holding their default value (a length or body length
// of 0) left out. Keeping the bytes identical keeps the golden replies in
// testdata/ (which the R tests read) unchanged.

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fbMetadataV5 is MetadataVersion.V5 (Schema.fbs); the header type
// fbHeaderRecordBatch is in fbverify.go.
const fbMetadataV5 = 4

// How a body buffer is produced from its source.
const (
	spanCopy      = iota // src as it is
	spanZeros            // n zero bytes (a bitmap of all nulls)
	spanBits             // bits [bit, bit+cnt) of src, re-based to bit 0
	spanOffsets32        // int32 offsets in src, minus base
	spanOffsets64        // int64 offsets in src, minus base
)

// span is one body buffer: n bytes (its length in the metadata), padded to
// 8 in the body.
type span struct {
	kind     uint8
	src      []byte
	n        int
	bit, cnt int
	base     int64
}

// flatBatchType reports whether writeBatch covers columns of type t, and
// the byte width of a fixed-width type (0 for bool and binary types).
func flatBatchType(t arrow.DataType) (width int, ok bool) {
	switch t.ID() {
	case arrow.BOOL, arrow.STRING, arrow.BINARY, arrow.LARGE_STRING, arrow.LARGE_BINARY:
		return 0, true
	case arrow.INT8, arrow.UINT8:
		return 1, true
	case arrow.INT16, arrow.UINT16, arrow.FLOAT16:
		return 2, true
	case arrow.INT32, arrow.UINT32, arrow.FLOAT32, arrow.DATE32, arrow.TIME32:
		return 4, true
	case arrow.INT64, arrow.UINT64, arrow.FLOAT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION:
		return 8, true
	}
	return 0, false
}

func pad8(n int) int  { return (n + 7) &^ 7 }
func pad64(n int) int { return (n + 63) &^ 63 }

// columnSpans fills out with the body buffers arrow-go writes for arr
// (validity, then offsets and/or values) and returns how many; ok is false
// when arr is not covered or its buffers are shorter than its length needs.
func columnSpans(arr arrow.Array, out *[3]span) (n int, ok bool) {
	width, ok := flatBatchType(arr.DataType())
	if !ok {
		return 0, false
	}
	d := arr.Data()
	bufs := d.Buffers()
	off, length := d.Offset(), d.Len()
	if off < 0 || length < 0 || len(bufs) < 2 {
		return 0, false
	}
	out[0] = span{}
	switch nulls := arr.NullN(); {
	case nulls == 0: // no bitmap
	case nulls == length:
		out[0] = span{kind: spanZeros, n: pad64(int(bitutil.BytesForBits(int64(length))))}
	default:
		if out[0], ok = bitmapSpan(bufs[0], off, length); !ok {
			return 0, false
		}
	}
	switch id := arr.DataType().ID(); {
	case id == arrow.BOOL:
		out[1] = span{}
		if length > 0 {
			if out[1], ok = bitmapSpan(bufs[1], off, length); !ok {
				return 0, false
			}
		}
		return 2, true
	case width > 0:
		out[1] = span{}
		if bufs[1] == nil {
			return 2, length == 0
		}
		b := bufs[1].Bytes()
		start, need := off*width, length*width
		if start+need > len(b) {
			return 0, false
		}
		if off != 0 || pad64(need) < len(b) {
			b = b[start : start+min(pad8(need), len(b)-start)]
		}
		out[1] = span{kind: spanCopy, src: b, n: len(b)}
		return 2, true
	default:
		if len(bufs) < 3 {
			return 0, false
		}
		ow := 4
		if id == arrow.LARGE_STRING || id == arrow.LARGE_BINARY {
			ow = 8
		}
		return 3, binarySpans(bytesOf(bufs[1]), bytesOf(bufs[2]), ow, off, length, out)
	}
}

// bytesOf is b's bytes, nil for no buffer.
func bytesOf(b *memory.Buffer) []byte {
	if b == nil {
		return nil
	}
	return b.Bytes()
}

// bitmapSpan is a bitmap as arrow-go sends it: as it is when it starts at
// bit 0 and is no longer than its length padded to 64 bytes, else re-based
// into that padded length. A missing bitmap is a malformed array here.
func bitmapSpan(buf *memory.Buffer, off, length int) (span, bool) {
	b := bytesOf(buf)
	if buf == nil || off+length > 8*len(b) {
		return span{}, false
	}
	minLen := pad64(int(bitutil.BytesForBits(int64(length))))
	if off != 0 || minLen < len(b) {
		return span{kind: spanBits, src: b, n: minLen, bit: off, cnt: length}, true
	}
	return span{kind: spanCopy, src: b, n: len(b)}, true
}

// binarySpans sets out[1] (offsets of width ow, shifted to start at 0) and
// out[2] (the values they cover) for a utf8 or binary array.
func binarySpans(offs, vals []byte, ow, off, length int, out *[3]span) bool {
	out[1], out[2] = span{}, span{}
	if len(offs) == 0 {
		return length == 0
	}
	if (off+length+1)*ow > len(offs) {
		return false
	}
	o := offs[off*ow : (off+length+1)*ow]
	var first, last int64
	if ow == 4 {
		first, last = int64(int32(binary.LittleEndian.Uint32(o))), int64(int32(binary.LittleEndian.Uint32(o[len(o)-4:])))
	} else {
		first, last = int64(binary.LittleEndian.Uint64(o)), int64(binary.LittleEndian.Uint64(o[len(o)-8:]))
	}
	if first < 0 || last < first || last > int64(len(vals)) {
		return false
	}
	out[1] = span{kind: spanCopy, src: o, n: len(o)}
	if first != 0 {
		out[1].kind, out[1].base = spanOffsets32, first
		if ow == 8 {
			out[1].kind = spanOffsets64
		}
	}
	v := vals[first:last]
	out[2] = span{kind: spanCopy, src: v, n: len(v)}
	return true
}

// writeBatch appends the RecordBatch message of rec (encapsulated metadata,
// then the body) to buf and reports true, or writes nothing and reports
// false when some column is not covered (see the top of this file). With a
// non-nil d, large plain buffers are left out of buf and listed in d instead
// (their padding stays in buf).
func writeBatch(buf *bytes.Buffer, rec arrow.RecordBatch, d *detached) bool {
	cols := rec.Columns()
	var sp [3]span
	nbuf, body, inline := 0, 0, 0
	for _, c := range cols {
		k, ok := columnSpans(c, &sp)
		if !ok {
			return false
		}
		for _, s := range sp[:k] {
			body += pad8(s.n)
			if !d.takes(s) {
				inline += pad8(s.n)
			}
		}
		nbuf += k
	}
	// Bound on the metadata: the two vectors of 16-byte structs plus the
	// fixed part (at most about 100 bytes with every alignment pad).
	maxMeta := 16*(len(cols)+nbuf) + 128
	buf.Grow(8 + maxMeta + inline)
	start := buf.Len()

	free := buf.AvailableBuffer()[:8+maxMeta]
	fb := fbBackward{b: free[8:], head: maxMeta}
	buildBatchMeta(&fb, rec, nbuf, body)
	metaLen := maxMeta - fb.head // a multiple of 8: the Builder's finish aligns it
	binary.LittleEndian.PutUint32(free, ipcContinuation)
	binary.LittleEndian.PutUint32(free[4:], uint32(metaLen))
	copy(free[8:], free[8+fb.head:])
	buf.Write(free[:8+metaLen])

	left := 0
	for _, c := range cols {
		k, _ := columnSpans(c, &sp)
		for _, s := range sp[:k] {
			if d.takes(s) {
				d.bufs = append(d.bufs, detachedBuf{at: buf.Len(), src: s.src[:s.n]})
				buf.Write(zeroPad[:pad8(s.n)-s.n])
				left += s.n
				continue
			}
			writeSpan(buf, s)
		}
	}
	if got := buf.Len() - start - 8 - metaLen + left; got != body {
		panic(fmt.Sprintf("record batch body is %d bytes, its metadata says %d", got, body))
	}
	return true
}

// minDetached is the smallest buffer a reply leaves out for the shared
// memory path: below it, a write call of its own costs more than the copy.
const minDetached = 1 << 20

var zeroPad [8]byte

// A detachedBuf is a buffer of a result left out of its reply: its bytes
// belong at offset at of the reply.
type detachedBuf struct {
	at  int
	src []byte
}

// detached is what the shared memory path takes out of a reply (shmCall):
// the large plain buffers of the result, which it writes into the result
// segment straight from the result instead of copying them into the reply
// first, and the result that holds them, retained until then.
type detached struct {
	bufs []detachedBuf
	rec  arrow.RecordBatch
}

// takes reports whether s is left out of the reply (d == nil: never).
func (d *detached) takes(s span) bool {
	return d != nil && s.kind == spanCopy && s.n >= minDetached
}

// size is the number of bytes left out.
func (d *detached) size() int {
	n := 0
	for _, b := range d.bufs {
		n += len(b.src)
	}
	return n
}

// parts returns reply[from:] with the detached buffers back in place, as
// slices to write one after the other; from is at most the first buffer's
// offset (the start of the reply's payload).
func (d *detached) parts(reply []byte, from int) [][]byte {
	out := make([][]byte, 0, 2*len(d.bufs)+1)
	for _, b := range d.bufs {
		out = append(out, reply[from:b.at], b.src)
		from = b.at
	}
	return append(out, reply[from:])
}

// fill returns the whole reply, detached buffers copied back in (a reply
// that goes over the socket after all).
func (d *detached) fill(reply []byte) []byte {
	if len(d.bufs) == 0 {
		return reply
	}
	whole := make([]byte, 0, len(reply)+d.size())
	for _, p := range d.parts(reply, 0) {
		whole = append(whole, p...)
	}
	return whole
}

// release lets the result go.
func (d *detached) release() {
	if d.rec != nil {
		d.rec.Release()
		d.rec = nil
	}
	d.bufs = nil
}

// writeSpan appends s and its padding to buf, which has room for both.
func writeSpan(buf *bytes.Buffer, s span) {
	p := buf.AvailableBuffer()[:pad8(s.n)]
	switch s.kind {
	case spanCopy:
		copy(p, s.src[:s.n])
		clear(p[s.n:])
	case spanZeros:
		clear(p)
	case spanBits:
		clear(p)
		bitutil.CopyBitmap(s.src, s.bit, s.cnt, p, 0)
	case spanOffsets32:
		for i := 0; i < s.n; i += 4 {
			binary.LittleEndian.PutUint32(p[i:], uint32(int64(int32(binary.LittleEndian.Uint32(s.src[i:])))-s.base))
		}
		clear(p[s.n:])
	case spanOffsets64:
		for i := 0; i < s.n; i += 8 {
			binary.LittleEndian.PutUint64(p[i:], uint64(int64(binary.LittleEndian.Uint64(s.src[i:]))-s.base))
		}
		clear(p[s.n:])
	}
	buf.Write(p)
}

// buildBatchMeta writes the Message flatbuffer of rec's batch into fb,
// calling what arrow-go's writeRecordMessage calls on its Builder, in the
// same order: the nodes vector, the buffers vector, the RecordBatch table,
// the Message table, finish.
func buildBatchMeta(fb *fbBackward, rec arrow.RecordBatch, nbuf, body int) {
	cols := rec.Columns()
	var sp [3]span

	// nodes: [FieldNode{length, null_count}], prepended last first
	fb.startVector(16*len(cols), 8)
	for i := len(cols) - 1; i >= 0; i-- {
		fb.prep(8, 16)
		fb.int64(int64(cols[i].NullN()))
		fb.int64(int64(cols[i].Len()))
	}
	nodes := fb.endVector(len(cols))

	// buffers: [Buffer{offset, length}]; offsets counted back from the end
	fb.startVector(16*nbuf, 8)
	end := body
	for i := len(cols) - 1; i >= 0; i-- {
		k, _ := columnSpans(cols[i], &sp)
		for j := k - 1; j >= 0; j-- {
			end -= pad8(sp[j].n)
			fb.prep(8, 16)
			fb.int64(int64(sp[j].n))
			fb.int64(int64(end))
		}
	}
	buffers := fb.endVector(nbuf)

	// RecordBatch {length, nodes, buffers}
	objEnd := fb.off()
	var slots [4]int
	if n := rec.NumRows(); n != 0 {
		fb.int64(n)
		slots[0] = fb.off()
	}
	fb.uoffset(nodes)
	slots[1] = fb.off()
	fb.uoffset(buffers)
	slots[2] = fb.off()
	batch := fb.endTable(objEnd, slots[:3])

	// Message {version, header_type, header, bodyLength}
	objEnd = fb.off()
	slots = [4]int{}
	fb.int16(fbMetadataV5)
	slots[0] = fb.off()
	fb.byte(fbHeaderRecordBatch)
	slots[1] = fb.off()
	fb.uoffset(batch)
	slots[2] = fb.off()
	nslot := 3
	if body != 0 {
		fb.int64(int64(body))
		slots[3] = fb.off()
		nslot = 4
	}
	msg := fb.endTable(objEnd, slots[:nslot])

	// finish: the root offset, the whole aligned to 8 (the largest scalar)
	fb.prep(8, 4)
	fb.uoffset(msg)
}

// fbBackward writes a flatbuffer from the end of b towards its start, as
// flatbuffers.Builder does; b[head:] is what is written so far. Positions
// ("offsets") count bytes from the end, as the Builder's do.
type fbBackward struct {
	b    []byte
	head int
}

// off is the Builder's Offset(): the bytes written so far.
func (f *fbBackward) off() int { return len(f.b) - f.head }

// prep pads with zeros so that after extra more bytes the offset is a
// multiple of size (a power of two).
func (f *fbBackward) prep(size, extra int) {
	for pad := -(f.off() + extra) & (size - 1); pad > 0; pad-- {
		f.head--
		f.b[f.head] = 0
	}
}

func (f *fbBackward) int64(v int64) {
	f.prep(8, 0)
	f.head -= 8
	binary.LittleEndian.PutUint64(f.b[f.head:], uint64(v))
}

func (f *fbBackward) uint32(v uint32) {
	f.prep(4, 0)
	f.head -= 4
	binary.LittleEndian.PutUint32(f.b[f.head:], v)
}

func (f *fbBackward) int16(v int16) {
	f.prep(2, 0)
	f.head -= 2
	binary.LittleEndian.PutUint16(f.b[f.head:], uint16(v))
}

func (f *fbBackward) byte(v byte) {
	f.head--
	f.b[f.head] = v
}

// uoffset prepends a reference to what was written at offset target.
func (f *fbBackward) uoffset(target int) {
	f.prep(4, 0)
	f.uint32(uint32(f.off() - target + 4))
}

// startVector aligns for a vector of size bytes of elements aligned to align.
func (f *fbBackward) startVector(size, align int) {
	f.prep(4, size)
	f.prep(align, size)
}

// endVector prepends the element count and returns the vector's offset.
func (f *fbBackward) endVector(n int) int {
	f.uint32(uint32(n)) // already aligned by startVector
	return f.off()
}

// endTable closes a table whose fields were written after offset objEnd;
// slots holds each field's offset (0: absent). Writes the soffset to the
// vtable, then the vtable itself (field offsets, table size, vtable size),
// and returns the table's offset. Trailing absent fields are not in the
// vtable. A Builder would reuse an identical earlier vtable instead of
// writing one; ours never are identical: RecordBatch's fields sit at
// [length 12 or absent, nodes 8, buffers 4]; Message's has a fourth field
// (bodyLength) unless the body is empty, and then sits at [version 10,
// header_type 9, header 4].
func (f *fbBackward) endTable(objEnd int, slots []int) int {
	f.uint32(0) // soffset, patched below
	obj := f.off()
	at := f.head
	for len(slots) > 0 && slots[len(slots)-1] == 0 {
		slots = slots[:len(slots)-1]
	}
	for i := len(slots) - 1; i >= 0; i-- {
		v := 0
		if slots[i] != 0 {
			v = obj - slots[i]
		}
		f.int16(int16(v))
	}
	f.int16(int16(obj - objEnd))
	f.int16(int16(2 * (len(slots) + 2)))
	binary.LittleEndian.PutUint32(f.b[at:], uint32(int32(f.off()-obj)))
	return obj
}
