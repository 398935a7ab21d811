package rgoipc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"mangoro/internal/wire"
)

// Args are the validated arguments of one call. Declared arguments come
// first, in signature order, with columns already converted to the declared
// types (see conform) and omitted optional arguments filled in; variadic columns
// follow in the order sent.
//
// Everything reachable from Args is owned by the server and valid only
// until the handler returns; Retain what you return or keep.
//
// Columns are arrow-go arrays of the declared type, so a type assertion
// gets the concrete array: args.Column("x").(*array.Float64) for float64,
// *array.Int32, *array.Int64, *array.String, *array.Boolean,
// *array.Date32, *array.Timestamp, *array.Binary, *array.Dictionary (a
// factor: Indices() are the 0-based int32 codes, Dictionary() the string
// levels), *array.List and *array.Struct for the other types.
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

// Column returns the column of the declared argument name. It panics when name is not a
// declared argument, a bug in the handler that the server turns into an
// error reply.
func (a *Args) Column(name string) arrow.Array {
	for i := range a.sig.Args {
		if a.sig.Args[i].Name == name {
			return a.rec.Column(i)
		}
	}
	panic(fmt.Sprintf("rgoipc: %s: no argument %q", a.fn, name))
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
				return nil, &callError{msg: fmt.Sprintf("%s: missing argument %q", e.name, a.Name), code: wire.CodeBadArguments}
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
	args.rec = array.NewRecordBatch(schemaFor(fields), cols, n)
	return args, nil
}

// conformColumn checks one column and returns a reference the caller owns.
func conformColumn(fn, name string, c arrow.Array, t Type, mem memory.Allocator) (arrow.Array, bool, error) {
	if !t.Nullable && c.NullN() > 0 {
		return nil, false, argError(fn, name, "NA is not allowed (%d NA values)", c.NullN())
	}
	d, cast, err := conform(c.Data(), t, mem)
	switch {
	case errors.Is(err, errMismatch):
		return nil, false, argError(fn, name, "expected %s, got %s", t, arrowTypeName(c.DataType()))
	case err != nil:
		return nil, false, argError(fn, name, "%v", err)
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
		return &callError{msg: fmt.Sprintf("%s: takes no arguments, got %d", e.name, ncol), code: wire.CodeBadArguments}
	}
	names := make([]string, len(e.sig.Args))
	for i, a := range e.sig.Args {
		names[i] = a.Name
	}
	return &callError{
		msg:  fmt.Sprintf("%s: unknown argument %q; arguments are %s", e.name, name, strings.Join(names, ", ")),
		code: wire.CodeBadArguments,
	}
}
