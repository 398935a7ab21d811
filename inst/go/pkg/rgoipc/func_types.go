package rgoipc

// The Go types Func maps beyond the basic columns of func.go: int slices,
// dates, times, raw vectors, list columns, slices of structs (data frames)
// and several results. Each type is resolved once, at registration.

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"mangoro/internal/gotypes"
)

// Date is a calendar day as R's Date stores it: days since 1970-01-01.
// Func maps Date, []Date and []*Date to R Date vectors.
type Date int32

// DateOf returns the day of t (in t's location).
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time returns midnight UTC of the day d.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return d.Time().Format(time.DateOnly) }

const (
	// metaResultShape tells R how to present a result that is not one
	// column: "raw" (one raw vector), "frame" (a data frame), "columns"
	// (several results).
	metaResultShape = "result_shape"
	// metaResultNames, set with Meta(metaResultNames, "lo,hi"), names the
	// results of a function with several (comma-separated, in order).
	metaResultNames = "result_names"
	// listMarker, as the last column of a one-row result, tells R to turn
	// the row of list columns into a named list (results of unequal length).
	listMarker = ".mangoro_named_list"
)

var timeType = reflect.TypeOf(time.Time{})

func init() {
	addConv(Int32(), func(a arrow.Array) ([]int, error) {
		v := a.(*array.Int32).Int32Values()
		out := make([]int, len(v))
		for i, x := range v {
			out[i] = int(x)
		}
		return out, nil
	}, func(mem memory.Allocator, v []int, valid []bool) (arrow.Array, error) {
		out := make([]int32, len(v))
		for i, x := range v {
			if (valid == nil || valid[i]) && (x != int(int32(x)) || int32(x) == -1<<31) {
				return nil, fmt.Errorf("result %d does not fit an R integer", x)
			}
			out[i] = int32(x)
		}
		return fixedArray(mem, arrow.PrimitiveTypes.Int32, len(v), valid, arrow.Int32Traits.CastToBytes(out)), nil
	}, false)
	addConv(Date32(), func(a arrow.Array) ([]Date, error) {
		v := a.(*array.Date32).Date32Values()
		out := make([]Date, len(v))
		for i, x := range v {
			out[i] = Date(x)
		}
		return out, nil
	}, func(mem memory.Allocator, v []Date, valid []bool) (arrow.Array, error) {
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return fixedArray(mem, arrow.FixedWidthTypes.Date32, len(v), valid, arrow.Int32Traits.CastToBytes(out)), nil
	}, true)
	addConv(Timestamp("", ""), timesOf, timestampArray, true)

	// []byte: one raw vector (the first row of a binary column).
	goTypes[reflect.TypeOf([]byte(nil))] = goType{
		typ: Binary(), scalar: true,
		in: func(a arrow.Array) (reflect.Value, error) {
			if err := oneValue(a); err != nil {
				return reflect.Value{}, err
			}
			return reflect.ValueOf(a.(*array.Binary).Value(0)), nil
		},
		out: func(b *ResultBuilder, v reflect.Value, _ []bool) {
			bb := array.NewBinaryBuilder(b.mem, arrow.BinaryTypes.Binary)
			defer bb.Release()
			bb.Append(v.Bytes())
			b.add("result", bb.NewArray())
		},
	}
}

// addConv registers T (one value), []T (plain) and []*T (nil = NA) from a
// whole-column conversion in (NA elements may hold anything) and a column
// builder out. When replaceScalar is false an existing scalar mapping of T
// is kept.
func addConv[T any](t Type, in func(arrow.Array) ([]T, error),
	out func(memory.Allocator, []T, []bool) (arrow.Array, error), replaceScalar bool) {
	put := func(b *ResultBuilder, v []T, valid []bool) {
		arr, err := out(b.mem, v, valid)
		if err != nil {
			b.fail(err)
			return
		}
		b.add("result", arr)
	}
	var zero T
	if _, ok := goTypes[reflect.TypeOf(zero)]; replaceScalar || !ok {
		goTypes[reflect.TypeOf(zero)] = goType{
			typ: t, scalar: true,
			in: func(a arrow.Array) (reflect.Value, error) {
				if err := oneValue(a); err != nil {
					return reflect.Value{}, err
				}
				first := array.NewSlice(a, 0, 1)
				defer first.Release()
				v, err := in(first)
				if err != nil {
					return reflect.Value{}, err
				}
				return reflect.ValueOf(v[0]), nil
			},
			out: func(b *ResultBuilder, v reflect.Value, _ []bool) { put(b, []T{v.Interface().(T)}, nil) },
		}
	}
	goTypes[reflect.TypeOf([]T(nil))] = goType{
		typ: t, plain: true,
		in: func(a arrow.Array) (reflect.Value, error) {
			v, err := in(a)
			if err != nil {
				return reflect.Value{}, err
			}
			return reflect.ValueOf(v), nil
		},
		out: func(b *ResultBuilder, v reflect.Value, valid []bool) { put(b, v.Interface().([]T), valid) },
	}
	goTypes[reflect.TypeOf([]*T(nil))] = goType{
		typ: t,
		in: func(a arrow.Array) (reflect.Value, error) {
			v, err := in(a)
			if err != nil {
				return reflect.Value{}, err
			}
			ptrs := make([]*T, len(v))
			for i := range v {
				if a.IsValid(i) {
					ptrs[i] = &v[i]
				}
			}
			return reflect.ValueOf(ptrs), nil
		},
		out: putPtrs(put),
	}
}

// fixedArray wraps the bytes of a fixed-width column; valid may be nil.
func fixedArray(mem memory.Allocator, dt arrow.DataType, n int, valid []bool, data []byte) arrow.Array {
	nb, nulls := validity(mem, valid)
	if nb != nil {
		defer nb.Release()
	}
	d := array.NewData(dt, n, []*memory.Buffer{nb, memory.NewBufferBytes(data)}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// validity returns the validity bitmap of valid (which the caller
// releases) and its number of NAs; nil (no NA) gives a nil buffer.
func validity(mem memory.Allocator, valid []bool) (*memory.Buffer, int) {
	if valid == nil {
		return nil, 0
	}
	nb := memory.NewResizableBuffer(mem)
	nb.Resize(int(bitutil.BytesForBits(int64(len(valid)))))
	nulls := 0
	for i, ok := range valid {
		bitutil.SetBitTo(nb.Bytes(), i, ok)
		if !ok {
			nulls++
		}
	}
	return nb, nulls
}

var locations sync.Map // time zone name -> *time.Location

// location returns the zone R named; "" (R's local time) is Go's Local.
func location(tz string) (*time.Location, error) {
	if tz == "" {
		return time.Local, nil
	}
	if l, ok := locations.Load(tz); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	locations.Store(tz, l)
	return l, nil
}

// timesOf converts a timestamp column to times in the column's zone.
func timesOf(a arrow.Array) ([]time.Time, error) {
	ts := a.(*array.Timestamp)
	dt := ts.DataType().(*arrow.TimestampType)
	loc, err := location(dt.TimeZone)
	if err != nil {
		return nil, err
	}
	out := make([]time.Time, ts.Len())
	for i := range out {
		if ts.IsValid(i) {
			out[i] = ts.Value(i).ToTime(dt.Unit).In(loc)
		}
	}
	return out, nil
}

// timestampArray builds a microsecond timestamp column (R's POSIXct
// resolution) in the zone of the first valid time.
func timestampArray(mem memory.Allocator, v []time.Time, valid []bool) (arrow.Array, error) {
	tz := ""
	for i, t := range v {
		if valid == nil || valid[i] {
			tz = zoneName(t.Location())
			break
		}
	}
	out := make([]int64, len(v))
	for i, t := range v {
		if valid == nil || valid[i] {
			out[i] = t.UnixMicro()
		}
	}
	dt := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: tz}
	return fixedArray(mem, dt, len(v), valid, arrow.Int64Traits.CastToBytes(out)), nil
}

// zoneName is the name R understands for loc: Go's Local is the process's
// TZ, which R shares (R's "" means local time too).
func zoneName(loc *time.Location) string {
	if loc == time.Local {
		if tz := os.Getenv("TZ"); tz != "" {
			return tz
		}
		return ""
	}
	return loc.String()
}

// lookupGoType maps a Go parameter or result type to its column handling:
// the fixed table of func.go and this file, then the types built from
// their element or field types (list columns, slices of structs).
func lookupGoType(t reflect.Type) (goType, bool) {
	if g, ok := goTypes[t]; ok {
		return g, true
	}
	if t.Kind() != reflect.Slice {
		return goType{}, false
	}
	elem := t.Elem()
	if elem.Kind() == reflect.Slice {
		if g, ok := goTypes[elem]; ok && !g.scalar {
			return listType(t, g), true
		}
		return goType{}, false
	}
	if elem.Kind() == reflect.Struct && elem != timeType {
		g, err := structSliceType(t)
		return g, err == nil
	}
	return goType{}, false
}

// listType maps [][]T (or [][]*T) to a list column; a nil element is NA.
func listType(t reflect.Type, elem goType) goType {
	return goType{
		typ: List(elem.typ),
		in: func(a arrow.Array) (reflect.Value, error) {
			l := a.(*array.List)
			out := reflect.MakeSlice(t, l.Len(), l.Len())
			for i := 0; i < l.Len(); i++ {
				if l.IsNull(i) {
					continue
				}
				start, end := l.ValueOffsets(i)
				part := array.NewSlice(l.ListValues(), start, end)
				v, err := elem.in(part)
				part.Release()
				if err != nil {
					return reflect.Value{}, fmt.Errorf("element %d: %w", i+1, err)
				}
				out.Index(i).Set(v)
			}
			return reflect.ValueOf(out.Interface()), nil
		},
		out: func(b *ResultBuilder, v reflect.Value, _ []bool) {
			n := v.Len()
			parts := make([]arrow.Array, 0, n)
			defer func() {
				for _, p := range parts {
					p.Release()
				}
			}()
			offsets := make([]int32, n+1)
			valid := make([]bool, n)
			nulls := 0
			for i := 0; i < n; i++ {
				offsets[i+1] = offsets[i]
				if v.Index(i).IsNil() {
					nulls++
					continue
				}
				valid[i] = true
				col, err := oneColumn(b.mem, elem, v.Index(i))
				if err != nil {
					b.fail(fmt.Errorf("result element %d: %w", i+1, err))
					return
				}
				parts = append(parts, col)
				offsets[i+1] += int32(col.Len())
			}
			var child arrow.Array
			if len(parts) == 0 {
				child = array.MakeArrayOfNull(b.mem, elem.typ.arrowTypeOr(arrow.Null), 0)
			} else {
				var err error
				if child, err = array.Concatenate(parts, b.mem); err != nil {
					b.fail(err)
					return
				}
			}
			defer child.Release()
			if nulls == 0 {
				valid = nil
			}
			vb, _ := validity(b.mem, valid)
			ob := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets))
			lt := arrow.ListOfField(arrow.Field{Name: "item", Type: child.DataType(), Nullable: true})
			d := array.NewData(lt, n, []*memory.Buffer{vb, ob}, []arrow.ArrayData{child.Data()}, nulls, 0)
			if vb != nil {
				vb.Release()
			}
			b.add("result", array.MakeFromData(d))
			d.Release()
		},
	}
}

func (t Type) arrowTypeOr(dt arrow.DataType) arrow.DataType {
	if a := t.arrowType(); a != nil {
		return a
	}
	return dt
}

// oneColumn converts v with g into a single column the caller owns.
func oneColumn(mem memory.Allocator, g goType, v reflect.Value) (arrow.Array, error) {
	sub := NewResult(mem)
	g.out(sub, v, nil)
	if sub.err != nil {
		sub.Release()
		return nil, sub.err
	}
	col := sub.cols[0]
	sub.cols = nil
	return col, nil
}

// structField is one exported field of a struct mapped to a column.
type structField struct {
	name  string
	index int
	g     goType // the []T or []*T mapping of the field's type
	slice reflect.Type
}

// structSliceType maps []S to a data frame: one column per exported field,
// named by the tag r:"name" or the field name (r:"-" leaves it out).
func structSliceType(t reflect.Type) (goType, error) {
	st := t.Elem()
	var fields []structField
	var def []Field
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("r"); ok {
			if tag == "-" {
				continue
			}
			name = tag
		}
		slice := reflect.SliceOf(f.Type)
		g, ok := goTypes[slice]
		if !ok || (f.Type.Kind() != reflect.Pointer && !g.plain && f.Type != reflect.TypeOf([]byte(nil))) {
			return goType{}, fmt.Errorf("field %s has unsupported type %v", f.Name, f.Type)
		}
		fields = append(fields, structField{name: name, index: i, g: g, slice: slice})
		def = append(def, Field{Name: name, Type: g.typ})
	}
	if len(fields) == 0 {
		return goType{}, fmt.Errorf("struct %v has no exported fields", st)
	}
	return goType{
		typ:   Struct(def...),
		frame: true,
		in: func(a arrow.Array) (reflect.Value, error) {
			s := a.(*array.Struct)
			out := reflect.MakeSlice(t, s.Len(), s.Len())
			for j, f := range fields {
				col, err := f.g.in(s.Field(j))
				if err != nil {
					return reflect.Value{}, fmt.Errorf("column %q: %w", f.name, err)
				}
				for i := 0; i < s.Len(); i++ {
					out.Index(i).Field(f.index).Set(col.Index(i))
				}
			}
			return reflect.ValueOf(out.Interface()), nil
		},
		out: func(b *ResultBuilder, v reflect.Value, _ []bool) {
			for _, f := range fields {
				col := reflect.MakeSlice(f.slice, v.Len(), v.Len())
				for i := 0; i < v.Len(); i++ {
					col.Index(i).Set(v.Index(i).Field(f.index))
				}
				arr, err := oneColumn(b.mem, f.g, col)
				if err != nil {
					b.fail(fmt.Errorf("result column %q: %w", f.name, err))
					return
				}
				b.add(f.name, arr)
			}
		},
	}, nil
}

// results describes what a reflected function returns.
type results struct {
	types  []goType
	hasErr bool
	typ    Type // the signature's return type
	once   sync.Once
	names  []string
}

// newResults checks the results of function type t: one or more mapped
// values, optionally followed by an error.
func newResults(t reflect.Type) (*results, error) {
	r := &results{}
	n := t.NumOut()
	if n > 0 && t.Out(n-1) == errorType {
		r.hasErr = true
		n--
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: want at least one result besides an error, got %v", ErrInvalidSignature, t)
	}
	for i := 0; i < n; i++ {
		g, ok := lookupGoType(t.Out(i))
		if !ok {
			return nil, fmt.Errorf("%w: result %d has unsupported type %v; supported: %s",
				ErrInvalidSignature, i+1, t.Out(i), gotypes.Supported)
		}
		if g.frame && n > 1 {
			return nil, fmt.Errorf("%w: a %v result must be the only result", ErrInvalidSignature, t.Out(i))
		}
		r.types = append(r.types, g)
	}
	if n == 1 {
		r.typ = r.types[0].typ
		return r, nil
	}
	fields := make([]Field, n)
	for i, g := range r.types {
		fields[i] = Field{Name: fmt.Sprintf("result%d", i+1), Type: g.typ}
	}
	r.typ = Struct(fields...)
	return r, nil
}

// columnNames returns the result column names, from metaResultNames when
// given.
func (r *results) columnNames(sig *Signature) []string {
	r.once.Do(func() {
		r.names = make([]string, len(r.types))
		given := strings.Split(sig.Metadata[metaResultNames], ",")
		for i := range r.names {
			if len(r.types) == 1 {
				r.names[i] = "result"
			} else if i < len(given) && given[i] != "" {
				r.names[i] = given[i]
			} else {
				r.names[i] = fmt.Sprintf("result%d", i+1)
			}
		}
	})
	return r.names
}

// build writes the results out[:len(types)] into b. valid(i) returns the NA
// mask for a plain-slice result of length n (nil for none).
func (r *results) build(b *ResultBuilder, sig *Signature, out []reflect.Value, valid func(n int) []bool) {
	if len(r.types) == 1 {
		g := r.types[0]
		var mask []bool
		if g.plain {
			mask = valid(out[0].Len())
		}
		g.out(b, out[0], mask)
		return
	}
	names := r.columnNames(sig)
	cols := make([]arrow.Array, len(r.types))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	same := true
	for i, g := range r.types {
		var mask []bool
		if g.plain {
			mask = valid(out[i].Len())
		}
		sub := NewResult(b.mem)
		g.out(sub, out[i], mask)
		if sub.err != nil {
			sub.Release()
			b.fail(fmt.Errorf("result %q: %w", names[i], sub.err))
			return
		}
		cols[i], sub.cols = sub.cols[0], nil
		same = same && cols[i].Len() == cols[0].Len()
	}
	if same {
		for i, c := range cols {
			c.Retain()
			b.add(names[i], c)
		}
		return
	}
	// Unequal lengths: one row of list columns, read by R as a named list.
	for i, c := range cols {
		lt := arrow.ListOfField(arrow.Field{Name: "item", Type: c.DataType(), Nullable: true})
		ob := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, int32(c.Len())}))
		d := array.NewData(lt, 1, []*memory.Buffer{nil, ob}, []arrow.ArrayData{c.Data()}, 0, 0)
		b.add(names[i], array.MakeFromData(d))
		d.Release()
	}
	b.add(listMarker, boolArray(b.mem, []bool{true}, nil))
}

func (r *results) shape() string {
	switch {
	case len(r.types) > 1:
		return "columns"
	case r.types[0].frame:
		return "frame"
	case r.types[0].scalar && r.types[0].typ.Kind == kindBinary:
		return "raw"
	}
	return ""
}
