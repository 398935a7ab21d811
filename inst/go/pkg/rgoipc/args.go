package rgoipc

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Args are the validated arguments of one call. Declared arguments come
// first, in signature order, with int32 already cast where float64 was
// declared and omitted optional arguments filled in; variadic columns
// follow in the order sent.
//
// Everything reachable from Args is owned by the server and valid only
// until the handler returns; Retain what you return or keep.
//
// The typed getters (Float64, String, ...) panic when the name is not a
// declared argument or the declared type differs: that is a bug in the
// handler, and the server turns the panic into an error reply.
type Args struct {
	fn   string
	sig  *Signature
	rec  arrow.RecordBatch
	mem  memory.Allocator
	nvar int
}

// Func returns the name of the called function.
func (a *Args) Func() string { return a.fn }

// Mem returns the allocator the handler should build its result with.
func (a *Args) Mem() memory.Allocator { return a.mem }

// Record returns all argument columns as one record (declared, then
// variadic). It is owned by the server: Retain it to return it.
func (a *Args) Record() arrow.RecordBatch { return a.rec }

// Len returns the number of rows (the length of every column).
func (a *Args) Len() int { return int(a.rec.NumRows()) }

// NumVariadic returns the number of variadic columns.
func (a *Args) NumVariadic() int { return a.nvar }

// Variadic returns variadic column i (0-based) and its name.
func (a *Args) Variadic(i int) (string, arrow.Array) {
	if i < 0 || i >= a.nvar {
		panic(fmt.Sprintf("rgoipc: %s: variadic column %d of %d", a.fn, i, a.nvar))
	}
	j := len(a.sig.Args) + i
	return a.rec.ColumnName(j), a.rec.Column(j)
}

// Column returns the declared argument name.
func (a *Args) Column(name string) arrow.Array {
	for i := range a.sig.Args {
		if a.sig.Args[i].Name == name {
			return a.rec.Column(i)
		}
	}
	panic(fmt.Sprintf("rgoipc: %s: no argument %q", a.fn, name))
}

func column[T arrow.Array](a *Args, name string) T {
	c := a.Column(name)
	t, ok := c.(T)
	if !ok {
		panic(fmt.Sprintf("rgoipc: %s: argument %q is %s, not %T", a.fn, name, arrowTypeName(c.DataType()), t))
	}
	return t
}

// Float64 returns a float64 (or int32, cast) argument.
func (a *Args) Float64(name string) *array.Float64 { return column[*array.Float64](a, name) }

// Int32 returns an int32 argument.
func (a *Args) Int32(name string) *array.Int32 { return column[*array.Int32](a, name) }

// Int64 returns an int64 argument.
func (a *Args) Int64(name string) *array.Int64 { return column[*array.Int64](a, name) }

// String returns a string argument.
func (a *Args) String(name string) *array.String { return column[*array.String](a, name) }

// Bool returns a boolean argument.
func (a *Args) Bool(name string) *array.Boolean { return column[*array.Boolean](a, name) }

// Date32 returns a date32 argument (days since the epoch).
func (a *Args) Date32(name string) *array.Date32 { return column[*array.Date32](a, name) }

// Timestamp returns a timestamp argument; its DataType carries the unit
// and time zone.
func (a *Args) Timestamp(name string) *array.Timestamp { return column[*array.Timestamp](a, name) }

// Binary returns a binary argument.
func (a *Args) Binary(name string) *array.Binary { return column[*array.Binary](a, name) }

// Dictionary returns a dictionary (factor) argument: Indices() are the
// int32 codes (0-based), Dictionary() the string levels.
func (a *Args) Dictionary(name string) *array.Dictionary { return column[*array.Dictionary](a, name) }

// List returns a list argument.
func (a *Args) List(name string) *array.List { return column[*array.List](a, name) }

// Struct returns a struct argument.
func (a *Args) Struct(name string) *array.Struct { return column[*array.Struct](a, name) }

// Float64Values returns the values of a float64 argument without copying,
// and valid[i] == false where the value is NA. valid is nil when there is
// no NA. Do not modify vals: it aliases the request.
func (a *Args) Float64Values(name string) (vals []float64, valid []bool) {
	c := a.Float64(name)
	return c.Float64Values(), validity(c)
}

// Int32Values is Float64Values for int32 arguments.
func (a *Args) Int32Values(name string) (vals []int32, valid []bool) {
	c := a.Int32(name)
	return c.Int32Values(), validity(c)
}

// Int64Values is Float64Values for int64 arguments.
func (a *Args) Int64Values(name string) (vals []int64, valid []bool) {
	c := a.Int64(name)
	return c.Int64Values(), validity(c)
}

// StringValues returns the values of a string argument ("" where NA) and
// their validity as in Float64Values. The strings alias the request: copy
// (strings.Clone) any you keep after the handler returns.
func (a *Args) StringValues(name string) (vals []string, valid []bool) {
	c := a.String(name)
	vals = make([]string, c.Len())
	for i := range vals {
		vals[i] = c.Value(i)
	}
	return vals, validity(c)
}

// validity returns per-element validity, or nil when nothing is NA.
func validity(c arrow.Array) []bool {
	if c.NullN() == 0 {
		return nil
	}
	v := make([]bool, c.Len())
	for i := range v {
		v[i] = c.IsValid(i)
	}
	return v
}

// bind validates rec against e's signature and returns the handler's
// arguments. On success the caller owns args.rec.
func (e *entry) bind(rec arrow.RecordBatch, mem memory.Allocator) (*Args, error) {
	sig := &e.sig
	schema := rec.Schema()
	ncol := int(rec.NumCols())
	// slot[j] is the column index of declared argument j, or -1.
	var slotBuf [8]int
	slot := slotBuf[:0]
	for range sig.Args {
		slot = append(slot, -1)
	}
	var extra []int // variadic columns
	inOrder := ncol >= len(sig.Args)
	next := 0 // next declared argument for unnamed columns
	for i := 0; i < ncol; i++ {
		name := schema.Field(i).Name
		j := -1
		if name == "" {
			for next < len(slot) && slot[next] >= 0 {
				next++
			}
			if next < len(slot) {
				j = next
				inOrder = false // the handler's record gets the declared name
			}
		} else {
			for k := range sig.Args {
				if sig.Args[k].Name == name {
					j = k
					break
				}
			}
		}
		switch {
		case j >= 0 && slot[j] >= 0:
			return nil, argError(e.name, sig.Args[j].Name, "given twice")
		case j >= 0:
			slot[j] = i
			if j != i {
				inOrder = false
			}
		case sig.Variadic != nil:
			extra = append(extra, i)
		default:
			return nil, e.unknownArg(name, ncol)
		}
	}

	cols := make([]arrow.Array, 0, len(sig.Args)+len(extra))
	changed := !inOrder
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	nrows := int(rec.NumRows())
	if ncol == 0 {
		nrows = 1 // only defaults: one call's worth of scalars
	}
	for j, a := range sig.Args {
		if slot[j] < 0 {
			if !a.Optional {
				return nil, &callError{msg: fmt.Sprintf("%s: missing argument %q", e.name, a.Name), err: ErrArgument}
			}
			c, err := defaultColumn(a, nrows, mem)
			if err != nil {
				return nil, err
			}
			cols = append(cols, c)
			changed = true
			continue
		}
		c, cast, err := conformColumn(e.name, a.Name, rec.Column(slot[j]), a.Type, mem)
		if err != nil {
			return nil, err
		}
		cols = append(cols, c)
		changed = changed || cast
	}
	for _, i := range extra {
		c, cast, err := conformColumn(e.name, schema.Field(i).Name, rec.Column(i), *sig.Variadic, mem)
		if err != nil {
			return nil, err
		}
		cols = append(cols, c)
		changed = changed || cast
	}

	args := &Args{fn: e.name, sig: sig, mem: mem, nvar: len(extra)}
	if !changed {
		rec.Retain()
		args.rec = rec
		return args, nil
	}
	fields := make([]arrow.Field, len(cols))
	for j := range sig.Args {
		fields[j] = arrow.Field{Name: sig.Args[j].Name, Type: cols[j].DataType(), Nullable: true}
	}
	for k, i := range extra {
		fields[len(sig.Args)+k] = arrow.Field{Name: schema.Field(i).Name, Type: cols[len(sig.Args)+k].DataType(), Nullable: true}
	}
	n := rec.NumRows()
	if len(cols) > 0 {
		n = int64(cols[0].Len())
	}
	args.rec = array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, n)
	return args, nil
}

// conformColumn checks one column and returns a reference the caller owns.
func conformColumn(fn, name string, c arrow.Array, t Type, mem memory.Allocator) (arrow.Array, bool, error) {
	if !t.Nullable && c.NullN() > 0 {
		return nil, false, argError(fn, name, "NA is not allowed (%d NA values)", c.NullN())
	}
	d, cast, ok := conform(c.Data(), t, mem)
	if !ok {
		return nil, false, argError(fn, name, "expected %s, got %s", t, arrowTypeName(c.DataType()))
	}
	if !cast {
		c.Retain()
		return c, false, nil
	}
	out := array.MakeFromData(d)
	d.Release()
	return out, true, nil
}

func (e *entry) unknownArg(name string, ncol int) error {
	if len(e.sig.Args) == 0 {
		return &callError{msg: fmt.Sprintf("%s: takes no arguments, got %d", e.name, ncol), err: ErrArgument}
	}
	names := make([]string, len(e.sig.Args))
	for i, a := range e.sig.Args {
		names[i] = a.Name
	}
	return &callError{
		msg: fmt.Sprintf("%s: unknown argument %q; arguments are %s", e.name, name, strings.Join(names, ", ")),
		err: ErrArgument,
	}
}
