package rgoipc

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Arg declares one argument of a function: one column of the call's record.
type Arg struct {
	// Name is the column name the client must use.
	Name string `json:"Name"`
	// Type is the declared column type.
	Type Type `json:"Type"`
	// Optional arguments may be omitted; the handler then sees a column
	// filled with Default (or NA when Default is nil).
	Optional bool `json:"Optional"`
	// Default is a scalar (float64, int, int32, int64, string or bool)
	// matching Type, or nil for NA.
	Default any `json:"Default"`
	// Scalar says the Go parameter takes one value (Func sets it for a
	// float64, int, string, ... parameter): a column of several different
	// values is refused. R marks such arguments when it prints the
	// function.
	Scalar bool `json:"Scalar,omitempty"`
}

// Signature describes a function: its arguments, result and metadata. Its
// JSON form is one entry of the manifest.
type Signature struct {
	// Args are the declared arguments, in order.
	Args []Arg `json:"Args"`
	// Variadic, when set, accepts any number of further columns of this
	// type (with any names) after Args. The manifest shows it as
	// Metadata["variadic"].
	Variadic *Type `json:"-"`
	// Returns describes the result. Use a Struct type for a result of
	// several columns, named like its fields.
	Returns Type `json:"ReturnType"`
	// Vectorized says the function works element-wise on whole columns.
	Vectorized bool `json:"Vectorized"`
	// Metadata is free-form; "description" is shown to R users.
	Metadata map[string]string `json:"Metadata"`
}

// FuncOption adjusts a signature at registration (Handle, HandleFunc, Func).
type FuncOption func(*Signature) error

// Describe sets Metadata["description"].
func Describe(text string) FuncOption {
	return Meta("description", text)
}

// Meta sets Metadata[key] = value.
func Meta(key, value string) FuncOption {
	return func(s *Signature) error {
		if s.Metadata == nil {
			s.Metadata = map[string]string{}
		}
		s.Metadata[key] = value
		return nil
	}
}

// ArgNames names the arguments in order. Func needs it because Go
// reflection cannot see parameter names; with Handle it renames Args.
func ArgNames(names ...string) FuncOption {
	return func(s *Signature) error {
		if len(names) != len(s.Args) {
			return errorf(ErrInvalidSignature, "ArgNames got %d names for %d arguments", len(names), len(s.Args))
		}
		for i, n := range names {
			s.Args[i].Name = n
		}
		return nil
	}
}

// Default makes the argument name optional with the given default value
// (nil means NA).
func Default(name string, value any) FuncOption {
	return func(s *Signature) error {
		for i := range s.Args {
			if s.Args[i].Name == name {
				s.Args[i].Optional = true
				s.Args[i].Default = value
				return nil
			}
		}
		return errorf(ErrInvalidSignature, "Default for unknown argument %q", name)
	}
}

// validate checks a signature before registration.
func (s *Signature) validate() error {
	seen := make(map[string]bool, len(s.Args))
	for _, a := range s.Args {
		if a.Name == "" {
			return errorf(ErrInvalidSignature, "argument without a name")
		}
		if seen[a.Name] {
			return errorf(ErrInvalidSignature, "argument %q declared twice", a.Name)
		}
		seen[a.Name] = true
		if err := a.Type.validate(); err != nil {
			return fmt.Errorf("argument %q: %w", a.Name, err)
		}
		if a.Optional {
			d, err := defaultColumn(a, 1, memory.DefaultAllocator)
			if err != nil {
				return fmt.Errorf("argument %q: %w", a.Name, err)
			}
			d.Release()
		}
	}
	if s.Variadic != nil {
		if err := s.Variadic.validate(); err != nil {
			return fmt.Errorf("variadic arguments: %w", err)
		}
	}
	if s.Returns.Kind == "" {
		s.Returns = Any()
	}
	if err := s.Returns.validate(); err != nil {
		return fmt.Errorf("return type: %w", err)
	}
	return nil
}

// manifestEntry is the JSON shape of a signature: Variadic is folded into
// Metadata and absent Metadata is an empty object.
func (s *Signature) manifestEntry() Signature {
	m := make(map[string]string, len(s.Metadata)+1)
	for k, v := range s.Metadata {
		m[k] = v
	}
	if s.Variadic != nil {
		m["variadic"] = string(s.Variadic.Kind)
	}
	out := *s
	out.Metadata = m
	if out.Args == nil {
		out.Args = []Arg{}
	}
	return out
}

// defaultColumn builds the column an omitted optional argument stands for:
// n copies of a.Default, or n NAs when it is nil.
func defaultColumn(a Arg, n int, mem memory.Allocator) (arrow.Array, error) {
	dt := a.Type.arrowType()
	if a.Default == nil {
		if dt == nil {
			dt = arrow.Null
		}
		return array.MakeArrayOfNull(mem, dt, n), nil
	}
	bad := errorf(ErrInvalidSignature, "default %v (%T) does not fit type %s", a.Default, a.Default, a.Type)
	switch a.Type.Kind {
	case kindFloat64:
		v, ok := toFloat64(a.Default)
		if !ok {
			return nil, bad
		}
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		for i := 0; i < n; i++ {
			b.Append(v)
		}
		return b.NewArray(), nil
	case kindInt32, kindInt64:
		v, ok := toInt64(a.Default)
		if !ok || (a.Type.Kind == kindInt32 && (v < math.MinInt32+1 || v > math.MaxInt32)) {
			return nil, bad
		}
		if a.Type.Kind == kindInt32 {
			b := array.NewInt32Builder(mem)
			defer b.Release()
			for i := 0; i < n; i++ {
				b.Append(int32(v))
			}
			return b.NewArray(), nil
		}
		b := array.NewInt64Builder(mem)
		defer b.Release()
		for i := 0; i < n; i++ {
			b.Append(v)
		}
		return b.NewArray(), nil
	case kindString:
		v, ok := a.Default.(string)
		if !ok {
			return nil, bad
		}
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for i := 0; i < n; i++ {
			b.Append(v)
		}
		return b.NewArray(), nil
	case kindBool:
		v, ok := a.Default.(bool)
		if !ok {
			return nil, bad
		}
		b := array.NewBooleanBuilder(mem)
		defer b.Release()
		for i := 0; i < n; i++ {
			b.Append(v)
		}
		return b.NewArray(), nil
	}
	return nil, errorf(ErrInvalidSignature, "only float64, int32, int64, string and bool arguments can have a non-NA default, not %s", a.Type)
}

func toFloat64(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int32:
		return float64(v), true
	case int64:
		return float64(v), true
	}
	return 0, false
}

func toInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	}
	return 0, false
}
