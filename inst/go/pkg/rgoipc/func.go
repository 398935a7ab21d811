package rgoipc

import (
	"context"
	"fmt"
	"reflect"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"mangoro/internal/gotypes"
)

// Func registers an ordinary Go function, deriving its signature from the
// Go types, so a vectorized function is one line:
//
//	reg.Func("add", func(x, y []float64) []float64 { ... },
//		rgoipc.ArgNames("x", "y"), rgoipc.Describe("x + y"))
//
// Parameters (after an optional leading context.Context, cancelled when
// the server shuts down) and the result may be:
//
//	[]float64, []int32, []int64, []string, []bool   a whole column
//	[]*float64, []*int32, []*int64, []*string, []*bool   a column, nil = NA
//	[][]byte                                          binary, nil = NA
//	float64, int32, int, int64, string, bool          one value (first row)
//
// and the types of func_types.go: []int, time.Time and Date (with their
// slices and pointer slices), []byte (one raw vector), [][]T (list
// columns), []S for a struct S with exported fields of the one-value types
// or pointers to them (a data frame), and several results. Several results
// become a data frame with one column per result, or a named list when
// their lengths differ; name them in order with
// Meta("result_names", "lo,hi") (comma-separated; without it the columns
// are result1, result2, ...).
//
// int32 and int map to R integers, float64 to doubles (which also accept
// R integers). A final variadic parameter (cols ...[]float64) takes any
// number of further columns. The function may return an error as its last
// result; the client then gets "<name>: <error text>". The result becomes
// one column named "result".
//
// NA handling: in a plain slice ([]float64 and so on) an NA reads as the
// zero value (for float64, whatever bits R sent, usually NaN), and when the
// result is a plain slice as long as the input, every element where any
// plain-slice argument was NA is NA in the result, as in R arithmetic. Use
// pointer slices to see and produce NA yourself. Scalar parameters reject
// NA, empty columns and columns of several different values (a recycled
// length-one R argument, all rows equal, is one value); the manifest marks
// them (Arg.Scalar).
//
// Arguments convert as R users expect (see conform): R integers where
// float64 or int64 is declared, whole-number doubles where int32, int or
// int64 is (2.5 is an error naming the element), and a bare NA (an all-NA
// logical) for any type.
//
// Slices passed in alias the request: do not keep or modify them. Name the
// parameters with ArgNames (reflection cannot see Go parameter names).
// Func uses reflect.Value.Call per call (well under a microsecond); the
// type dispatch is resolved once, here. A function whose parameters are all
// float64, int32 or int (scalars) or []float64 or []int32 gets its values
// straight from the request's bytes when the request's columns are exactly
// its parameters, in order, without NA (direct.go); any other request to it
// takes the general path, with the same results.
func (r *Registry) Func(name string, fn any, opts ...FuncOption) error {
	h, sig, err := reflectFunc(fn)
	if err != nil {
		return r.remember(fmt.Errorf("rgoipc: register %q: %w", name, err))
	}
	for _, o := range opts {
		if err := o(&sig); err != nil {
			return r.remember(fmt.Errorf("rgoipc: register %q: %w", name, err))
		}
	}
	for i, a := range sig.Args {
		if a.Name == "" {
			return r.remember(fmt.Errorf("rgoipc: register %q: %w: parameter %d has no name; use ArgNames with %d names",
				name, ErrInvalidSignature, i+1, len(sig.Args)))
		}
	}
	return r.Handle(name, sig, h)
}

// goType says how one Go parameter or result type maps to a column.
type goType struct {
	typ    Type
	plain  bool // plain slice: NA reads as the zero value and propagates
	scalar bool
	frame  bool // a slice of structs: one column per field
	in     func(a arrow.Array) (reflect.Value, error)
	out    func(b *ResultBuilder, v reflect.Value, valid []bool)
}

var (
	ctxType   = reflect.TypeOf((*context.Context)(nil)).Elem()
	errorType = reflect.TypeOf((*error)(nil)).Elem()
	goTypes   = map[reflect.Type]goType{}
)

func init() {
	addType[float64](Float64(), func(a arrow.Array) []float64 { return a.(*array.Float64).Float64Values() },
		func(a arrow.Array, i int) float64 { return a.(*array.Float64).Value(i) },
		putFixed[float64](arrow.PrimitiveTypes.Float64, arrow.Float64Traits.CastToBytes))
	addType[int32](Int32(), func(a arrow.Array) []int32 { return a.(*array.Int32).Int32Values() },
		func(a arrow.Array, i int) int32 { return a.(*array.Int32).Value(i) },
		putFixed[int32](arrow.PrimitiveTypes.Int32, arrow.Int32Traits.CastToBytes))
	addType[int64](Int64(), func(a arrow.Array) []int64 { return a.(*array.Int64).Int64Values() },
		func(a arrow.Array, i int) int64 { return a.(*array.Int64).Value(i) },
		putFixed[int64](arrow.PrimitiveTypes.Int64, arrow.Int64Traits.CastToBytes))
	addType[string](String(), nil,
		func(a arrow.Array, i int) string { return a.(*array.String).Value(i) },
		func(b *ResultBuilder, v []string, valid []bool) { b.add("result", stringArray(b.mem, v, valid)) })
	addType[bool](Bool(), nil,
		func(a arrow.Array, i int) bool { return a.(*array.Boolean).Value(i) },
		func(b *ResultBuilder, v []bool, valid []bool) { b.add("result", boolArray(b.mem, v, valid)) })

	// int: a scalar R integer.
	goTypes[reflect.TypeOf(0)] = goType{
		typ: Int32(), scalar: true,
		in: func(a arrow.Array) (reflect.Value, error) {
			if err := oneValue(a); err != nil {
				return reflect.Value{}, err
			}
			return reflect.ValueOf(int(a.(*array.Int32).Value(0))), nil
		},
		out: func(b *ResultBuilder, v reflect.Value, _ []bool) {
			n := v.Int()
			if n != int64(int32(n)) || int32(n) == -1<<31 {
				b.fail(fmt.Errorf("result %d does not fit an R integer", n))
				return
			}
			b.add("result", fixedArray(b.mem, arrow.PrimitiveTypes.Int32, 1, nil, arrow.Int32Traits.CastToBytes([]int32{int32(n)})))
		},
	}
	// [][]byte: binary, nil = NA.
	goTypes[reflect.TypeOf([][]byte(nil))] = goType{
		typ: Binary(),
		in: func(a arrow.Array) (reflect.Value, error) {
			c := a.(*array.Binary)
			out := make([][]byte, c.Len())
			for i := range out {
				if c.IsValid(i) {
					out[i] = c.Value(i)
				}
			}
			return reflect.ValueOf(out), nil
		},
		out: func(b *ResultBuilder, v reflect.Value, _ []bool) {
			vals := v.Interface().([][]byte)
			bb := array.NewBinaryBuilder(b.mem, arrow.BinaryTypes.Binary)
			defer bb.Release()
			for _, x := range vals {
				if x == nil {
					bb.AppendNull()
				} else {
					bb.Append(x)
				}
			}
			b.add("result", bb.NewArray())
		},
	}
}

// addType registers T (scalar), []T (plain) and []*T (nullable) for one
// column type. values, when not nil, returns the column's values without
// copying; get reads element i.
func addType[T any](t Type, values func(arrow.Array) []T, get func(arrow.Array, int) T,
	put func(*ResultBuilder, []T, []bool)) {
	var zero T
	goTypes[reflect.TypeOf(zero)] = goType{
		typ: t, scalar: true,
		in: func(a arrow.Array) (reflect.Value, error) {
			if err := oneValue(a); err != nil {
				return reflect.Value{}, err
			}
			return reflect.ValueOf(get(a, 0)), nil
		},
		out: func(b *ResultBuilder, v reflect.Value, _ []bool) {
			put(b, []T{v.Interface().(T)}, nil)
		},
	}
	goTypes[reflect.TypeOf([]T(nil))] = goType{
		typ: t, plain: true,
		in: func(a arrow.Array) (reflect.Value, error) {
			if values != nil {
				return reflect.ValueOf(values(a)), nil
			}
			out := make([]T, a.Len())
			for i := range out {
				if a.IsValid(i) {
					out[i] = get(a, i)
				}
			}
			return reflect.ValueOf(out), nil
		},
		out: func(b *ResultBuilder, v reflect.Value, valid []bool) {
			put(b, v.Interface().([]T), valid)
		},
	}
	goTypes[reflect.TypeOf([]*T(nil))] = goType{
		typ: t,
		in: func(a arrow.Array) (reflect.Value, error) {
			vals := make([]T, a.Len())
			out := make([]*T, a.Len())
			for i := range out {
				if a.IsValid(i) {
					vals[i] = get(a, i)
					out[i] = &vals[i]
				}
			}
			return reflect.ValueOf(out), nil
		},
		out: putPtrs(put),
	}
}

// putPtrs adapts put to a []*T result, where a nil pointer is NA.
func putPtrs[T any](put func(*ResultBuilder, []T, []bool)) func(*ResultBuilder, reflect.Value, []bool) {
	return func(b *ResultBuilder, v reflect.Value, _ []bool) {
		ptrs := v.Interface().([]*T)
		vals := make([]T, len(ptrs))
		valid := make([]bool, len(ptrs))
		for i, p := range ptrs {
			if p != nil {
				vals[i], valid[i] = *p, true
			}
		}
		put(b, vals, valid)
	}
}

// putFixed wraps a fixed-width result slice without copying it.
func putFixed[T int32 | int64 | float64](dt arrow.DataType, cast func([]T) []byte) func(*ResultBuilder, []T, []bool) {
	return func(b *ResultBuilder, v []T, valid []bool) {
		b.add("result", fixedArray(b.mem, dt, len(v), valid, cast(v)))
	}
}

// stringArray builds a string column; valid may be nil (no NA).
func stringArray(mem memory.Allocator, v []string, valid []bool) arrow.Array {
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	size := 0
	for _, s := range v {
		size += len(s)
	}
	sb.ReserveData(size)
	sb.AppendValues(v, valid)
	return sb.NewArray()
}

// boolArray builds a boolean column; valid may be nil (no NA).
func boolArray(mem memory.Allocator, v []bool, valid []bool) arrow.Array {
	bb := array.NewBooleanBuilder(mem)
	defer bb.Release()
	bb.AppendValues(v, valid)
	return bb.NewArray()
}

// oneValue checks a scalar parameter's column: one value, not NA. A column
// whose rows all repeat it is accepted (R recycles a length-one argument to
// the length of the others); different values are an error, not a silent
// first one.
func oneValue(a arrow.Array) error {
	switch {
	case a.Len() == 0:
		return fmt.Errorf("needs a value, got a length-0 column")
	case a.IsNull(0):
		return fmt.Errorf("NA is not allowed")
	}
	for i := 1; i < a.Len(); i++ {
		if !array.SliceEqual(a, 0, 1, a, int64(i), int64(i)+1) {
			return fmt.Errorf("takes one value (a scalar Go parameter), got %d values that differ (row %d)", a.Len(), i+1)
		}
	}
	return nil
}

func (b *ResultBuilder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// reflectFunc derives the handler and signature of fn.
func reflectFunc(fn any) (Handler, Signature, error) {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return nil, Signature{}, fmt.Errorf("%w: %T is not a function", ErrInvalidSignature, fn)
	}
	t := v.Type()
	var sig Signature
	hasCtx := t.NumIn() > 0 && t.In(0) == ctxType
	first := 0
	if hasCtx {
		first = 1
	}
	nfixed := t.NumIn()
	if t.IsVariadic() {
		nfixed--
	}
	params := make([]goType, 0, nfixed)
	for i := first; i < nfixed; i++ {
		g, ok := lookupGoType(t.In(i))
		if !ok {
			return nil, sig, fmt.Errorf("%w: parameter %d has unsupported type %v; supported: %s",
				ErrInvalidSignature, i+1, t.In(i), gotypes.Supported)
		}
		params = append(params, g)
		sig.Args = append(sig.Args, Arg{Type: g.typ, Scalar: g.scalar})
		sig.Vectorized = sig.Vectorized || !g.scalar
	}
	var variadic *goType
	if t.IsVariadic() {
		g, ok := lookupGoType(t.In(nfixed).Elem())
		if !ok || g.scalar || g.frame {
			return nil, sig, fmt.Errorf("%w: variadic parameter has unsupported type %v", ErrInvalidSignature, t.In(nfixed))
		}
		variadic = &g
		vt := g.typ
		sig.Variadic = &vt
		sig.Vectorized = true
	}
	res, err := newResults(t)
	if err != nil {
		return nil, sig, err
	}
	sig.Returns = res.typ
	if shape := res.shape(); shape != "" {
		sig.Metadata = map[string]string{metaResultShape: shape}
	}

	h := &funcHandler{fn: v, res: res, hasCtx: hasCtx}
	h.HandlerFunc = func(ctx context.Context, args *Args) (arrow.RecordBatch, error) {
		var room [4]reflect.Value // the usual few arguments, on the stack
		in := room[:0]
		if hasCtx {
			c := ctx // on the heap only for a handler that takes one
			in = append(in, reflect.ValueOf(&c).Elem())
		}
		var nullable []arrow.Array // plain-slice columns with NA
		addArg := func(g *goType, name string, col arrow.Array) error {
			v, err := g.in(col)
			if err != nil {
				return argError(args.fn, name, "%v", err)
			}
			if g.plain && col.NullN() > 0 {
				nullable = append(nullable, col)
			}
			in = append(in, v)
			return nil
		}
		for i := range params {
			if err := addArg(&params[i], args.sig.Args[i].Name, args.rec.Column(i)); err != nil {
				return nil, err
			}
		}
		for i := 0; i < args.nvar; i++ {
			name, col := args.Variadic(i)
			if err := addArg(variadic, name, col); err != nil {
				return nil, err
			}
		}
		if len(nullable) == 0 {
			return h.finish(in, args.mem, args.sig, noMask)
		}
		// A plain-slice result as long as the input is NA wherever a
		// plain-slice argument was.
		return h.finish(in, args.mem, args.sig, func(n int) []bool {
			if n != args.Len() {
				return nil
			}
			mask := make([]bool, n)
			for i := range mask {
				mask[i] = true
				for _, c := range nullable {
					if c.IsNull(i) {
						mask[i] = false
						break
					}
				}
			}
			return mask
		})
	}
	if variadic == nil {
		for i := first; i < nfixed; i++ {
			d, ok := directArgOf(t.In(i))
			if !ok {
				h.direct = nil
				break
			}
			h.direct = append(h.direct, d)
		}
	}
	return h, sig, nil
}
