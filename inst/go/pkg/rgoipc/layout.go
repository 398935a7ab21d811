package rgoipc

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// checkLayout verifies that the buffers of d are large enough for its
// offset and length and that offsets and dictionary indices stay in range.
// Arrow IPC metadata comes from the client, and arrow-go trusts it; without
// this check a lying length would surface as a panic (or worse, a silent
// misread) inside a handler. Types rgoipc does not declare are not checked:
// they can only reach "any" handlers, which pass them through.
func checkLayout(d arrow.ArrayData) error {
	off, n := d.Offset(), d.Len()
	if off < 0 || n < 0 {
		return fmt.Errorf("negative offset or length")
	}
	end := off + n
	bufs := d.Buffers()
	buf := func(i int) *memory.Buffer {
		if i < len(bufs) {
			return bufs[i]
		}
		return nil
	}
	need := func(i, size int, what string) error {
		b := buf(i)
		if size == 0 {
			return nil
		}
		if b == nil || b.Len() < size {
			got := 0
			if b != nil {
				got = b.Len()
			}
			return fmt.Errorf("%s buffer has %d bytes, %d needed", what, got, size)
		}
		return nil
	}
	if buf(0) != nil {
		if err := need(0, bitmapBytes(end), "validity"); err != nil {
			return err
		}
	}
	switch dt := d.DataType().(type) {
	case *arrow.Int32Type, *arrow.Date32Type:
		return need(1, end*4, "data")
	case *arrow.Int64Type, *arrow.Float64Type, *arrow.TimestampType:
		return need(1, end*8, "data")
	case *arrow.BooleanType:
		return need(1, bitmapBytes(end), "data")
	case *arrow.StringType, *arrow.BinaryType:
		last, err := checkOffsets(d, buf(1))
		if err != nil {
			return err
		}
		return need(2, int(last), "value")
	case *arrow.ListType:
		last, err := checkOffsets(d, buf(1))
		if err != nil {
			return err
		}
		children := d.Children()
		if len(children) != 1 {
			return fmt.Errorf("list has %d children", len(children))
		}
		if children[0].Len() < int(last) {
			return fmt.Errorf("list offsets reach %d but values have %d elements", last, children[0].Len())
		}
		return checkLayout(children[0])
	case *arrow.StructType:
		children := d.Children()
		if len(children) != dt.NumFields() {
			return fmt.Errorf("struct has %d children for %d fields", len(children), dt.NumFields())
		}
		for i, c := range children {
			if c.Len() < end {
				return fmt.Errorf("struct field %q has %d elements, %d needed", dt.Field(i).Name, c.Len(), end)
			}
			if err := checkLayout(c); err != nil {
				return fmt.Errorf("struct field %q: %w", dt.Field(i).Name, err)
			}
		}
	case *arrow.DictionaryType:
		dict := dictionaryOf(d)
		if dict == nil {
			return fmt.Errorf("dictionary array without dictionary")
		}
		if err := checkLayout(dict); err != nil {
			return fmt.Errorf("dictionary: %w", err)
		}
		if _, ok := dt.IndexType.(*arrow.Int32Type); !ok {
			return nil // not a factor; only "any" handlers can receive it
		}
		if end == 0 {
			return nil // no indices to check; an empty array may have no index buffer
		}
		if err := need(1, end*4, "index"); err != nil {
			return err
		}
		idx := arrow.Int32Traits.CastFromBytes(buf(1).Bytes())
		valid := buf(0)
		size := int32(dict.Len())
		for i := off; i < end; i++ {
			if valid != nil && !bitIsSet(valid.Bytes(), i) {
				continue
			}
			if v := idx[i]; v < 0 || v >= size {
				return fmt.Errorf("dictionary index %d out of range [0, %d)", v, size)
			}
		}
	case arrow.FixedWidthDataType:
		// Other fixed-width types: arrow-go's constructors slice values up
		// to the buffer's capacity, so a short buffer would read its
		// neighbours in the message body.
		if bw := dt.BitWidth(); bw >= 8 && end > 0 {
			if b := buf(1); b == nil || b.Len()/(bw/8) < end {
				return fmt.Errorf("data buffer too short for %d elements of %d bits", n, bw)
			}
		}
	}
	return nil
}

// checkOffsets validates the int32 offsets of a string, binary or list
// array and returns the last one.
func checkOffsets(d arrow.ArrayData, b *memory.Buffer) (int32, error) {
	off, end := d.Offset(), d.Offset()+d.Len()
	if d.Len() == 0 && (b == nil || b.Len() == 0) {
		return 0, nil
	}
	if b == nil || b.Len() < (end+1)*4 {
		return 0, fmt.Errorf("offsets buffer too short for %d elements", d.Len())
	}
	o := arrow.Int32Traits.CastFromBytes(b.Bytes())
	if o[off] < 0 {
		return 0, fmt.Errorf("negative offset %d", o[off])
	}
	for i := off; i < end; i++ {
		if o[i+1] < o[i] {
			return 0, fmt.Errorf("offsets decrease at element %d", i-off)
		}
	}
	return o[end], nil
}

func bitmapBytes(n int) int { return (n + 7) / 8 }

func bitIsSet(b []byte, i int) bool { return b[i>>3]&(1<<(uint(i)&7)) != 0 }
