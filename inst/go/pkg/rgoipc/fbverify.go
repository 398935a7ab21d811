package rgoipc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// arrow-go decodes Arrow IPC metadata (flatbuffers) without checking it,
// and sizes some slices from vector lengths found there: a 400-byte message
// can ask for gigabytes. verifyMessageMeta walks the parts of the Message
// schema (Message.fbs, Schema.fbs) that arrow-go reads and checks that
// every table, vector and string lies inside the metadata, before arrow-go
// sees it. A vector therefore never has more elements than there are bytes
// to hold them, which bounds every allocation by the message size.

// Message header types (Message.fbs MessageHeader union).
const (
	fbHeaderSchema          = 1
	fbHeaderDictionaryBatch = 2
	fbHeaderRecordBatch     = 3
)

// Type union members that contain offsets (Schema.fbs Type union).
const (
	fbTypeTimestamp = 10
	fbTypeUnion     = 14
)

// fbMaxDepth bounds nesting of fields (struct of list of struct ...).
const fbMaxDepth = 64

var errFB = errors.New("invalid Arrow message metadata")

type fbVerifier struct {
	buf    []byte
	tables int // budget: shared offsets must not make the walk explode
}

type fbTable struct{ pos, vt, vtLen int }

func (v *fbVerifier) fail(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errFB, fmt.Sprintf(format, a...))
}

func (v *fbVerifier) has(pos, n int) bool { return pos >= 0 && n >= 0 && pos <= len(v.buf)-n }

func (v *fbVerifier) u32(pos int) (uint32, error) {
	if !v.has(pos, 4) {
		return 0, v.fail("offset %d out of range", pos)
	}
	return binary.LittleEndian.Uint32(v.buf[pos:]), nil
}

// deref follows the unsigned offset stored at pos.
func (v *fbVerifier) deref(pos int) (int, error) {
	u, err := v.u32(pos)
	if err != nil {
		return 0, err
	}
	q := pos + int(u)
	if u == 0 || !v.has(q, 4) {
		return 0, v.fail("reference %d at %d out of range", u, pos)
	}
	return q, nil
}

func (v *fbVerifier) table(pos int) (fbTable, error) {
	v.tables--
	if v.tables < 0 {
		return fbTable{}, v.fail("too many tables")
	}
	s, err := v.u32(pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := pos - int(int32(s))
	if !v.has(vt, 4) {
		return fbTable{}, v.fail("vtable out of range")
	}
	vtLen := int(binary.LittleEndian.Uint16(v.buf[vt:]))
	tblLen := int(binary.LittleEndian.Uint16(v.buf[vt+2:]))
	// An odd vtable length would let flatbuffers read a slot whose second
	// byte lies past the vtable, a slot this verifier counts as absent.
	if vtLen < 4 || vtLen%2 != 0 || !v.has(vt, vtLen) || !v.has(pos, tblLen) {
		return fbTable{}, v.fail("table at %d out of range", pos)
	}
	return fbTable{pos: pos, vt: vt, vtLen: vtLen}, nil
}

// field returns the position of slot's value of the given size, or -1
// when the field is absent.
func (v *fbVerifier) field(t fbTable, slot, size int) (int, error) {
	o := 4 + 2*slot
	if o+2 > t.vtLen {
		return -1, nil
	}
	off := int(binary.LittleEndian.Uint16(v.buf[t.vt+o:]))
	if off == 0 {
		return -1, nil
	}
	p := t.pos + off
	if !v.has(p, size) {
		return -1, v.fail("field %d out of range", slot)
	}
	return p, nil
}

// scalars checks that scalar slots are in range; pairs lists slot, size,
// slot, size, ...
func (v *fbVerifier) scalars(t fbTable, pairs ...int) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if _, err := v.field(t, pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// vector checks the vector in slot and returns its first element and length.
func (v *fbVerifier) vector(t fbTable, slot, elemSize int) (start, n int, err error) {
	p, err := v.field(t, slot, 4)
	if err != nil || p < 0 {
		return 0, 0, err
	}
	q, err := v.deref(p)
	if err != nil {
		return 0, 0, err
	}
	u, _ := v.u32(q)
	start = q + 4
	if uint64(u)*uint64(elemSize) > uint64(len(v.buf)-start) {
		return 0, 0, v.fail("vector of %d elements in slot %d exceeds the metadata", u, slot)
	}
	return start, int(u), nil
}

func (v *fbVerifier) sub(t fbTable, slot int) (fbTable, bool, error) {
	p, err := v.field(t, slot, 4)
	if err != nil || p < 0 {
		return fbTable{}, false, err
	}
	q, err := v.deref(p)
	if err != nil {
		return fbTable{}, false, err
	}
	tt, err := v.table(q)
	return tt, err == nil, err
}

// tables checks a vector of tables and each table with check.
func (v *fbVerifier) tableVector(t fbTable, slot int, check func(fbTable) error) error {
	start, n, err := v.vector(t, slot, 4)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		q, err := v.deref(start + 4*i)
		if err != nil {
			return err
		}
		tt, err := v.table(q)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(tt); err != nil {
				return err
			}
		}
	}
	return nil
}

func (v *fbVerifier) keyValues(t fbTable, slot int) error {
	return v.tableVector(t, slot, func(kv fbTable) error {
		if _, _, err := v.vector(kv, 0, 1); err != nil {
			return err
		}
		_, _, err := v.vector(kv, 1, 1)
		return err
	})
}

// verifyMessageMeta checks the flatbuffer Message in meta.
func verifyMessageMeta(meta []byte) error {
	v := &fbVerifier{buf: meta, tables: len(meta)/4 + 8} // a table takes at least 4 bytes
	root, err := v.deref(0)
	if err != nil {
		return err
	}
	m, err := v.table(root)
	if err != nil {
		return err
	}
	if err := v.scalars(m, 0, 2, 1, 1, 3, 8); err != nil {
		return err
	}
	if err := v.keyValues(m, 4); err != nil {
		return err
	}
	htPos, _ := v.field(m, 1, 1)
	ht := byte(0)
	if htPos >= 0 {
		ht = meta[htPos]
	}
	hdr, ok, err := v.sub(m, 2)
	if err != nil {
		return err
	}
	if !ok {
		return v.fail("message without header")
	}
	switch ht {
	case fbHeaderSchema:
		return v.schema(hdr)
	case fbHeaderRecordBatch:
		return v.recordBatch(hdr)
	case fbHeaderDictionaryBatch:
		if err := v.scalars(hdr, 0, 8, 2, 1); err != nil {
			return err
		}
		rb, ok, err := v.sub(hdr, 1)
		if err != nil || !ok {
			return errors.Join(err, v.fail("dictionary batch without data"))
		}
		return v.recordBatch(rb)
	}
	return v.fail("unsupported message header type %d", ht)
}

func (v *fbVerifier) schema(s fbTable) error {
	if err := v.scalars(s, 0, 2); err != nil {
		return err
	}
	if err := v.tableVector(s, 1, func(f fbTable) error { return v.fieldDef(f, 0) }); err != nil {
		return err
	}
	if err := v.keyValues(s, 2); err != nil {
		return err
	}
	_, _, err := v.vector(s, 3, 8) // features
	return err
}

func (v *fbVerifier) fieldDef(f fbTable, depth int) error {
	if depth > fbMaxDepth {
		return v.fail("fields nested deeper than %d", fbMaxDepth)
	}
	if _, _, err := v.vector(f, 0, 1); err != nil { // name
		return err
	}
	if err := v.scalars(f, 1, 1, 2, 1); err != nil {
		return err
	}
	typ, ok, err := v.sub(f, 3)
	if err != nil {
		return err
	}
	if ok {
		ttPos, _ := v.field(f, 2, 1)
		if ttPos >= 0 {
			switch v.buf[ttPos] {
			case fbTypeTimestamp:
				if _, _, err := v.vector(typ, 1, 1); err != nil { // timezone
					return err
				}
			case fbTypeUnion:
				if _, _, err := v.vector(typ, 1, 4); err != nil { // typeIds
					return err
				}
			}
		}
	}
	dict, ok, err := v.sub(f, 4)
	if err != nil {
		return err
	}
	if ok {
		if err := v.scalars(dict, 0, 8, 2, 1, 3, 2); err != nil {
			return err
		}
		if _, _, err := v.sub(dict, 1); err != nil { // index type
			return err
		}
	}
	if err := v.tableVector(f, 5, func(c fbTable) error { return v.fieldDef(c, depth+1) }); err != nil {
		return err
	}
	return v.keyValues(f, 6)
}

func (v *fbVerifier) recordBatch(rb fbTable) error {
	if err := v.scalars(rb, 0, 8); err != nil {
		return err
	}
	if _, _, err := v.vector(rb, 1, 16); err != nil { // nodes
		return err
	}
	if _, _, err := v.vector(rb, 2, 16); err != nil { // buffers
		return err
	}
	if _, _, err := v.sub(rb, 3); err != nil { // compression
		return err
	}
	_, _, err := v.vector(rb, 4, 8) // variadic buffer counts
	return err
}
