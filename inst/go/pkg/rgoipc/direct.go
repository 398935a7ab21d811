package rgoipc

// The direct path of a Func: its arguments straight from the request bytes.
//
// Why: a function registered with Func whose parameters are plain float64
// or int32 values (slices or scalars) is the common small call, and for it
// the general path builds an arrow-go array per column, a record, the
// bound Args, and only then the Go values, which alias the same bytes. In a
// running server that was about a third of a small call's Go time
// (bench/PROFILE.md, round five). When the request's columns are exactly
// the parameters (same names, same order, the declared Arrow type, no NA,
// one row for a scalar), the values are taken from the batch's buffers
// instead. Anything else (casts, NA, missing or extra columns, other types)
// takes the general path, which also says what is wrong; the result is
// built the same way on both paths.

import (
	"context"
	"encoding/binary"
	"reflect"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// directArg turns one column's values buffer (rows elements, checked to be
// long enough) into the parameter's value.
type directArg struct {
	id    arrow.Type // the column type it takes
	width int        // bytes per element
	in    func(values []byte, rows int) (reflect.Value, bool)
}

// directArgOf is the direct conversion for Go type t, or false.
func directArgOf(t reflect.Type) (directArg, bool) {
	switch t {
	case reflect.TypeOf([]float64(nil)):
		return sliceArg(arrow.FLOAT64, 8, arrow.Float64Traits.CastFromBytes), true
	case reflect.TypeOf(float64(0)):
		return scalarArg(arrow.FLOAT64, 8, arrow.Float64Traits.CastFromBytes, func(x float64) float64 { return x }), true
	case reflect.TypeOf([]int32(nil)):
		return sliceArg(arrow.INT32, 4, arrow.Int32Traits.CastFromBytes), true
	case reflect.TypeOf(int32(0)):
		return scalarArg(arrow.INT32, 4, arrow.Int32Traits.CastFromBytes, func(x int32) int32 { return x }), true
	case reflect.TypeOf(0):
		return scalarArg(arrow.INT32, 4, arrow.Int32Traits.CastFromBytes, func(x int32) int { return int(x) }), true
	}
	return directArg{}, false
}

// sliceArg takes the whole column as a []T aliasing the request.
func sliceArg[T any](id arrow.Type, width int, cast func([]byte) []T) directArg {
	return directArg{id, width, func(b []byte, rows int) (reflect.Value, bool) {
		return reflect.ValueOf(cast(b)[:rows:rows]), true
	}}
}

// scalarArg takes a one-row column's value, converted to the parameter's
// type; other lengths are the general path's to judge.
func scalarArg[T, P any](id arrow.Type, width int, cast func([]byte) []T, conv func(T) P) directArg {
	return directArg{id, width, func(b []byte, rows int) (reflect.Value, bool) {
		if rows != 1 {
			return reflect.Value{}, false
		}
		return reflect.ValueOf(conv(cast(b)[0])), true
	}}
}

// funcHandler is what Func registers: the general handler, and the direct
// path when every parameter has one (direct is nil otherwise).
type funcHandler struct {
	HandlerFunc
	direct []directArg
	hasCtx bool
	fn     reflect.Value // the function
	res    *results
}

// finish calls the function with in and builds its result: the general
// handler once it has the values, and the direct path.
func (fh *funcHandler) finish(in []reflect.Value, mem memory.Allocator, sig *Signature, valid func(int) []bool) (arrow.RecordBatch, error) {
	out := fh.fn.Call(in)
	if fh.res.hasErr {
		if e := out[len(out)-1]; !e.IsNil() {
			return nil, e.Interface().(error)
		}
	}
	b := NewResult(mem)
	fh.res.build(b, sig, out, valid)
	return b.Record()
}

// noMask: no NA anywhere (the direct path takes no NA).
func noMask(int) []bool { return nil }

// directArgs appends to in the arguments of a direct call of fh (nil: not a
// Func) when payload is a cached flat stream whose columns are exactly
// sig's parameters; ok false means the general path must read it.
func directArgs(ctx context.Context, fh *funcHandler, sig *Signature, payload []byte, in []reflect.Value) (_ []reflect.Value, ok bool) {
	if fh == nil || fh.direct == nil || len(fh.direct) != len(sig.Args) || sig.Variadic != nil {
		return nil, false
	}
	if fh.hasCtx {
		c := ctx // on the heap only for a function that takes one
		in = append(in, reflect.ValueOf(&c).Elem())
	}
	e, m, ok := requestSchemas.batchOf(payload)
	if !ok || len(e.kinds) != len(fh.direct) {
		return nil, false
	}
	nodes, bufs, rows, ok := e.batchHeader(m)
	if !ok || rows < 0 || rows > int64(maxInt) { // a negative first node length: load calls it malformed
		return nil, false
	}
	for i, d := range fh.direct {
		f := e.schema.Field(i)
		if e.kinds[i] != flatFixed || f.Type.ID() != d.id || f.Name != sig.Args[i].Name {
			return nil, false
		}
		p := nodes + 16*i
		length := int64(binary.LittleEndian.Uint64(m.meta[p:]))
		nulls := int64(binary.LittleEndian.Uint64(m.meta[p+8:]))
		if length != rows || nulls != 0 {
			return nil, false
		}
		// The values buffer, as batchBuffers.take and checkFixed check it.
		q := bufs + 16*(2*i+1)
		off := int64(binary.LittleEndian.Uint64(m.meta[q:]))
		n := int64(binary.LittleEndian.Uint64(m.meta[q+8:]))
		var values []byte
		if rows > 0 {
			if off < 0 || n < 0 || off > int64(len(m.body))-n || n/int64(d.width) < rows {
				return nil, false
			}
			values = m.body[off : off+n : off+n]
		}
		v, ok := d.in(values, int(rows))
		if !ok {
			return nil, false
		}
		in = append(in, v)
	}
	return in, true
}

const maxInt = int(^uint(0) >> 1)
