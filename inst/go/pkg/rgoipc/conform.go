package rgoipc

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// errMismatch says a column's Arrow type does not fit the declared type;
// conformColumn turns it into "expected <declared>, got <sent>".
var errMismatch = errors.New("rgoipc: type mismatch")

// conform checks the column data d against the declared type t. When d
// matches as is it returns (d, false, nil) and d is not retained. When it
// had to be converted (at any depth) it returns new data the caller owns
// and must release: (out, true, nil). The conversions follow R habits:
// int32 becomes float64 or int64 where those are declared, a whole-number
// float64 becomes int32 or int64, and an all-NA logical column (a bare NA
// in R) becomes an all-null column of the declared type. A type mismatch
// returns errMismatch; a value that does not convert (2.5 for an int32)
// returns an error naming the element, counted from 1 as in R.
func conform(d arrow.ArrayData, t Type, mem memory.Allocator) (out arrow.ArrayData, cast bool, err error) {
	dt := d.DataType()
	id := dt.ID()
	if id == arrow.BOOL && t.Kind != kindBool && t.Kind != kindAny && d.NullN() == d.Len() {
		if want := t.arrowType(); want != nil {
			nulls := array.MakeArrayOfNull(mem, want, d.Len())
			out = nulls.Data()
			out.Retain()
			nulls.Release()
			return out, true, nil
		}
	}
	switch t.Kind {
	case kindAny:
		return d, false, nil
	case kindFloat64:
		switch id {
		case arrow.FLOAT64:
			return d, false, nil
		case arrow.INT32:
			return int32ToFloat64(d, mem), true, nil
		}
		return nil, false, errMismatch
	case kindInt32:
		switch id {
		case arrow.INT32:
			return d, false, nil
		case arrow.FLOAT64:
			out, err := float64ToInt(d, mem, arrow.PrimitiveTypes.Int32, math.MinInt32, 0x1p31)
			return out, err == nil, err
		}
		return nil, false, errMismatch
	case kindInt64:
		switch id {
		case arrow.INT64:
			return d, false, nil
		case arrow.INT32:
			return int32ToInt64(d, mem), true, nil
		case arrow.FLOAT64:
			out, err := float64ToInt(d, mem, arrow.PrimitiveTypes.Int64, math.MinInt64, 0x1p63)
			return out, err == nil, err
		}
		return nil, false, errMismatch
	case kindString:
		return d, false, okIf(id == arrow.STRING)
	case kindBool:
		return d, false, okIf(id == arrow.BOOL)
	case kindDate32:
		return d, false, okIf(id == arrow.DATE32)
	case kindBinary:
		return d, false, okIf(id == arrow.BINARY)
	case kindTimestamp:
		ts, isTS := dt.(*arrow.TimestampType)
		ok := isTS && (t.Unit == "" || ts.Unit.String() == t.Unit) &&
			(t.TimeZone == "" || ts.TimeZone == t.TimeZone)
		return d, false, okIf(ok)
	case kindDictionary:
		dict, isDict := dt.(*arrow.DictionaryType)
		ok := isDict && dict.IndexType.ID() == arrow.INT32 && dict.ValueType.ID() == arrow.STRING
		return d, false, okIf(ok)
	case kindList:
		lt, isList := dt.(*arrow.ListType)
		if !isList || t.ListSchema == nil {
			return nil, false, errMismatch
		}
		child, childCast, err := conform(d.Children()[0], t.ListSchema.Type, mem)
		if err != nil || !childCast {
			return d, false, err
		}
		elem := lt.ElemField()
		elem.Type = child.DataType()
		out = array.NewData(arrow.ListOfField(elem), d.Len(), d.Buffers(),
			[]arrow.ArrayData{child}, d.NullN(), d.Offset())
		child.Release()
		return out, true, nil
	case kindStruct:
		st, isStruct := dt.(*arrow.StructType)
		if !isStruct || st.NumFields() != len(t.StructDef) {
			return nil, false, errMismatch
		}
		var children []arrow.ArrayData // non-nil once a field was cast
		for i, f := range t.StructDef {
			if st.Field(i).Name != f.Name {
				releaseAll(children)
				return nil, false, errMismatch
			}
			c, cCast, err := conform(d.Children()[i], f.Type, mem)
			if err != nil {
				releaseAll(children)
				if errors.Is(err, errMismatch) {
					return nil, false, err
				}
				return nil, false, fmt.Errorf("field %q: %w", f.Name, err)
			}
			if cCast && children == nil {
				children = make([]arrow.ArrayData, st.NumFields())
				for j := 0; j < i; j++ {
					children[j] = d.Children()[j]
					children[j].Retain()
				}
			}
			if children != nil {
				if !cCast {
					c.Retain()
				}
				children[i] = c
			}
		}
		if children == nil {
			return d, false, nil
		}
		fields := st.Fields()
		for i := range fields {
			fields[i].Type = children[i].DataType()
		}
		out = array.NewData(arrow.StructOf(fields...), d.Len(), d.Buffers(), children, d.NullN(), d.Offset())
		releaseAll(children)
		return out, true, nil
	}
	return nil, false, errMismatch
}

func okIf(ok bool) error {
	if ok {
		return nil
	}
	return errMismatch
}

func releaseAll(ds []arrow.ArrayData) {
	for _, d := range ds {
		if d != nil {
			d.Release()
		}
	}
}

// int32ToFloat64 converts R integers to doubles, sharing the validity
// bitmap so NAs stay NA. The caller owns the result.
func int32ToFloat64(d arrow.ArrayData, mem memory.Allocator) arrow.ArrayData {
	off, end := d.Offset(), d.Offset()+d.Len()
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(end * 8)
	if end > 0 {
		src := arrow.Int32Traits.CastFromBytes(d.Buffers()[1].Bytes())
		dst := arrow.Float64Traits.CastFromBytes(buf.Bytes())
		for i := off; i < end; i++ {
			dst[i] = float64(src[i])
		}
	}
	out := array.NewData(arrow.PrimitiveTypes.Float64, d.Len(),
		[]*memory.Buffer{d.Buffers()[0], buf}, nil, d.NullN(), off)
	buf.Release()
	return out
}

// int32ToInt64 widens R integers to int64, sharing the validity bitmap.
// The caller owns the result.
func int32ToInt64(d arrow.ArrayData, mem memory.Allocator) arrow.ArrayData {
	off, end := d.Offset(), d.Offset()+d.Len()
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(end * 8)
	if end > 0 {
		src := arrow.Int32Traits.CastFromBytes(d.Buffers()[1].Bytes())
		dst := arrow.Int64Traits.CastFromBytes(buf.Bytes())
		for i := off; i < end; i++ {
			dst[i] = int64(src[i])
		}
	}
	out := array.NewData(arrow.PrimitiveTypes.Int64, d.Len(),
		[]*memory.Buffer{d.Buffers()[0], buf}, nil, d.NullN(), off)
	buf.Release()
	return out
}

// float64ToInt converts R doubles holding whole numbers in [lo, hi) (hi
// exclusive: 2^63, the first double above int64, is exact) to dt (int32 or int64),
// sharing the validity bitmap. The first element that is not a whole number
// in range is an error naming it (1-based). The caller owns the result.
func float64ToInt(d arrow.ArrayData, mem memory.Allocator, dt arrow.DataType, lo, hi float64) (arrow.ArrayData, error) {
	a := array.NewFloat64Data(d)
	defer a.Release()
	vals := a.Float64Values()
	for i, x := range vals {
		if a.IsNull(i) {
			continue
		}
		switch {
		case x != math.Trunc(x):
			return nil, fmt.Errorf("element %d is %s, not a whole number", i+1, strconv.FormatFloat(x, 'g', -1, 64))
		case x < lo || x >= hi:
			return nil, fmt.Errorf("element %d is %s, outside the range of %s", i+1, strconv.FormatFloat(x, 'g', -1, 64), dt)
		}
	}
	n := len(vals)
	buf := memory.NewResizableBuffer(mem)
	var valid *memory.Buffer
	if bufs := d.Buffers(); len(bufs) > 0 && bufs[0] != nil && d.NullN() > 0 {
		// A fresh bitmap from offset 0: the values buffer starts there too.
		valid = memory.NewResizableBuffer(mem)
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		for i := 0; i < n; i++ {
			bitutil.SetBitTo(valid.Bytes(), i, a.IsValid(i))
		}
		defer valid.Release()
	}
	if dt.ID() == arrow.INT32 {
		buf.Resize(n * 4)
		dst := arrow.Int32Traits.CastFromBytes(buf.Bytes())
		for i, x := range vals {
			if a.IsValid(i) {
				dst[i] = int32(x)
			}
		}
	} else {
		buf.Resize(n * 8)
		dst := arrow.Int64Traits.CastFromBytes(buf.Bytes())
		for i, x := range vals {
			if a.IsValid(i) {
				dst[i] = int64(x)
			}
		}
	}
	out := array.NewData(dt, n, []*memory.Buffer{valid, buf}, nil, d.NullN(), 0)
	buf.Release()
	return out, nil
}
