package rgoipc

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// conform checks the column data d against the declared type t. When d
// matches as is it returns (d, false, true) and d is not retained. When an
// int32 (at any depth) had to become float64 it returns new data the caller
// owns and must release: (out, true, true). A mismatch returns ok == false.
func conform(d arrow.ArrayData, t Type, mem memory.Allocator) (out arrow.ArrayData, cast, ok bool) {
	dt := d.DataType()
	id := dt.ID()
	switch t.Kind {
	case kindAny:
		return d, false, true
	case kindFloat64:
		switch id {
		case arrow.FLOAT64:
			return d, false, true
		case arrow.INT32:
			return int32ToFloat64(d, mem), true, true
		}
		return nil, false, false
	case kindInt32:
		return d, false, id == arrow.INT32
	case kindInt64:
		return d, false, id == arrow.INT64
	case kindString:
		return d, false, id == arrow.STRING
	case kindBool:
		return d, false, id == arrow.BOOL
	case kindDate32:
		return d, false, id == arrow.DATE32
	case kindBinary:
		return d, false, id == arrow.BINARY
	case kindTimestamp:
		ts, isTS := dt.(*arrow.TimestampType)
		ok = isTS && (t.Unit == "" || ts.Unit.String() == t.Unit) &&
			(t.TimeZone == "" || ts.TimeZone == t.TimeZone)
		return d, false, ok
	case kindDictionary:
		dict, isDict := dt.(*arrow.DictionaryType)
		ok = isDict && dict.IndexType.ID() == arrow.INT32 && dict.ValueType.ID() == arrow.STRING
		return d, false, ok
	case kindList:
		lt, isList := dt.(*arrow.ListType)
		if !isList || t.ListSchema == nil {
			return nil, false, false
		}
		child, childCast, ok := conform(d.Children()[0], t.ListSchema.Type, mem)
		if !ok || !childCast {
			return d, false, ok
		}
		elem := lt.ElemField()
		elem.Type = child.DataType()
		out = array.NewData(arrow.ListOfField(elem), d.Len(), d.Buffers(),
			[]arrow.ArrayData{child}, d.NullN(), d.Offset())
		child.Release()
		return out, true, true
	case kindStruct:
		st, isStruct := dt.(*arrow.StructType)
		if !isStruct || st.NumFields() != len(t.StructDef) {
			return nil, false, false
		}
		var children []arrow.ArrayData // non-nil once a field was cast
		for i, f := range t.StructDef {
			if st.Field(i).Name != f.Name {
				releaseAll(children)
				return nil, false, false
			}
			c, cCast, ok := conform(d.Children()[i], f.Type, mem)
			if !ok {
				releaseAll(children)
				return nil, false, false
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
			return d, false, true
		}
		fields := st.Fields()
		for i := range fields {
			fields[i].Type = children[i].DataType()
		}
		out = array.NewData(arrow.StructOf(fields...), d.Len(), d.Buffers(), children, d.NullN(), d.Offset())
		releaseAll(children)
		return out, true, true
	}
	return nil, false, false
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
