package rgoipc

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// The kinds a signature can declare: the names the manifest JSON uses
// (inst/WIRE.md, "Manifest").
const (
	kindInt32      = "int32"      // R integer
	kindInt64      = "int64"      // bit64::integer64
	kindFloat64    = "float64"    // R double; int32 input is cast
	kindString     = "string"     // R character (Arrow utf8)
	kindBool       = "bool"       // R logical
	kindDate32     = "date32"     // R Date
	kindTimestamp  = "timestamp"  // R POSIXct; unit and time zone kept
	kindBinary     = "binary"     // list of raw vectors / blob
	kindDictionary = "dictionary" // R factor: int32 indices, string levels
	kindList       = "list"       // R list column of one element type
	kindStruct     = "struct"     // nested data.frame
	kindAny        = "any"        // anything, passed through unchecked
)

// Type describes one argument, struct field, list element or return value.
// Its JSON form is the manifest's type object. Build one with Int32,
// Float64, List, Struct and friends rather than by hand.
//
// Type, and not arrow.DataType, is what a signature declares, because a
// declaration says more and less than an Arrow type: whether NA is allowed,
// "any" column, a timestamp of any unit. The handler sees Arrow arrays.
type Type struct {
	// Kind is the type's name in the manifest ("float64", "list", ...);
	// it is "Type" in JSON.
	Kind string `json:"Type"`
	// Nullable says whether NA is allowed. The constructors set it.
	Nullable bool `json:"Nullable"`
	// StructDef lists the fields of a struct, in order.
	StructDef []Field `json:"StructDef"`
	// ListSchema holds the element type of a list.
	ListSchema *ListSchema `json:"ListSchema"`
	// Unit restricts a timestamp to "s", "ms", "us" or "ns"; empty accepts
	// any unit.
	Unit string `json:"Unit,omitempty"`
	// TimeZone restricts a timestamp's time zone; empty accepts any.
	TimeZone string `json:"TimeZone,omitempty"`
}

// Field is a named member of a struct type.
type Field struct {
	// Name is the field (data.frame column) name.
	Name string `json:"Name"`
	// Type is the field's type.
	Type Type `json:"Type"`
}

// ListSchema is the element type of a list type.
type ListSchema struct {
	// Type is the type of every element.
	Type Type `json:"Type"`
}

func scalar(k string) Type { return Type{Kind: k, Nullable: true} }

// Int32 returns the nullable int32 type.
func Int32() Type { return scalar(kindInt32) }

// Int64 returns the nullable int64 type.
func Int64() Type { return scalar(kindInt64) }

// Float64 returns the nullable float64 type. Arguments of this type also
// accept int32 columns, cast to float64 with NAs kept.
func Float64() Type { return scalar(kindFloat64) }

// String returns the nullable string (Arrow utf8) type.
func String() Type { return scalar(kindString) }

// Bool returns the nullable boolean type.
func Bool() Type { return scalar(kindBool) }

// Date32 returns the nullable date32 type (days since 1970-01-01).
func Date32() Type { return scalar(kindDate32) }

// Binary returns the nullable binary type.
func Binary() Type { return scalar(kindBinary) }

// Dictionary returns the type of an R factor: dictionary-encoded strings
// with int32 indices.
func Dictionary() Type { return scalar(kindDictionary) }

// Any returns a type that accepts any column unchanged.
func Any() Type { return scalar(kindAny) }

// Timestamp returns a timestamp type. unit ("s", "ms", "us", "ns") and tz
// restrict what is accepted; pass "" for either to accept anything. The
// column reaches the handler with its own unit and time zone.
func Timestamp(unit, tz string) Type {
	t := scalar(kindTimestamp)
	t.Unit, t.TimeZone = unit, tz
	return t
}

// List returns a list type with elements of type elem.
func List(elem Type) Type {
	t := scalar(kindList)
	t.ListSchema = &ListSchema{Type: elem}
	return t
}

// Struct returns a struct type with the given fields, in order.
func Struct(fields ...Field) Type {
	t := scalar(kindStruct)
	t.StructDef = fields
	return t
}

// NotNull returns a copy of t that rejects columns containing NA.
func (t Type) NotNull() Type {
	t.Nullable = false
	return t
}

// String formats t the way error messages show it, e.g. "float64",
// "list<int32>", "struct<name: string, age: any>".
func (t Type) String() string {
	var b strings.Builder
	t.format(&b)
	return b.String()
}

func (t Type) format(b *strings.Builder) {
	b.WriteString(t.Kind)
	switch t.Kind {
	case kindList:
		b.WriteByte('<')
		if t.ListSchema != nil {
			t.ListSchema.Type.format(b)
		} else {
			b.WriteString("?")
		}
		b.WriteByte('>')
	case kindStruct:
		b.WriteByte('<')
		for i, f := range t.StructDef {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Name)
			b.WriteString(": ")
			f.Type.format(b)
		}
		b.WriteByte('>')
	case kindDictionary:
		b.WriteString("<int32, string>")
	case kindTimestamp:
		if t.Unit != "" || t.TimeZone != "" {
			b.WriteByte('[')
			b.WriteString(orAny(t.Unit))
			b.WriteString(", tz=")
			b.WriteString(orAny(t.TimeZone))
			b.WriteByte(']')
		}
	}
}

func orAny(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// arrowTypeName formats an Arrow type in the vocabulary of Type.String, so
// "expected X, got Y" compares like with like.
func arrowTypeName(dt arrow.DataType) string {
	var b strings.Builder
	formatArrow(&b, dt)
	return b.String()
}

func formatArrow(b *strings.Builder, dt arrow.DataType) {
	switch dt := dt.(type) {
	case *arrow.Int32Type:
		b.WriteString("int32")
	case *arrow.Int64Type:
		b.WriteString("int64")
	case *arrow.Float64Type:
		b.WriteString("float64")
	case *arrow.StringType:
		b.WriteString("string")
	case *arrow.BooleanType:
		b.WriteString("bool")
	case *arrow.Date32Type:
		b.WriteString("date32")
	case *arrow.BinaryType:
		b.WriteString("binary")
	case *arrow.TimestampType:
		b.WriteString("timestamp[")
		b.WriteString(dt.Unit.String())
		b.WriteString(", tz=")
		b.WriteString(dt.TimeZone)
		b.WriteByte(']')
	case *arrow.DictionaryType:
		b.WriteString("dictionary<")
		formatArrow(b, dt.IndexType)
		b.WriteString(", ")
		formatArrow(b, dt.ValueType)
		b.WriteByte('>')
	case *arrow.ListType:
		b.WriteString("list<")
		formatArrow(b, dt.Elem())
		b.WriteByte('>')
	case *arrow.StructType:
		b.WriteString("struct<")
		for i, f := range dt.Fields() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Name)
			b.WriteString(": ")
			formatArrow(b, f.Type)
		}
		b.WriteByte('>')
	default:
		b.WriteString(dt.String())
	}
}

// arrowType returns the Arrow type a handler sees for t, or nil when t does
// not pin one down (any, or a timestamp without unit).
func (t Type) arrowType() arrow.DataType {
	switch t.Kind {
	case kindInt32:
		return arrow.PrimitiveTypes.Int32
	case kindInt64:
		return arrow.PrimitiveTypes.Int64
	case kindFloat64:
		return arrow.PrimitiveTypes.Float64
	case kindString:
		return arrow.BinaryTypes.String
	case kindBool:
		return arrow.FixedWidthTypes.Boolean
	case kindDate32:
		return arrow.FixedWidthTypes.Date32
	case kindBinary:
		return arrow.BinaryTypes.Binary
	case kindDictionary:
		return &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	case kindTimestamp:
		u, ok := parseUnit(t.Unit)
		if !ok {
			return nil
		}
		return &arrow.TimestampType{Unit: u, TimeZone: t.TimeZone}
	case kindList:
		if t.ListSchema == nil {
			return nil
		}
		elem := t.ListSchema.Type.arrowType()
		if elem == nil {
			return nil
		}
		return arrow.ListOfField(arrow.Field{Name: "item", Type: elem, Nullable: t.ListSchema.Type.Nullable})
	case kindStruct:
		fields := make([]arrow.Field, len(t.StructDef))
		for i, f := range t.StructDef {
			ft := f.Type.arrowType()
			if ft == nil {
				return nil
			}
			fields[i] = arrow.Field{Name: f.Name, Type: ft, Nullable: f.Type.Nullable}
		}
		return arrow.StructOf(fields...)
	}
	return nil
}

func parseUnit(s string) (arrow.TimeUnit, bool) {
	switch s {
	case "s":
		return arrow.Second, true
	case "ms":
		return arrow.Millisecond, true
	case "us":
		return arrow.Microsecond, true
	case "ns":
		return arrow.Nanosecond, true
	}
	return 0, false
}

// validate reports a malformed declared type (at registration time).
func (t Type) validate() error {
	switch t.Kind {
	case kindInt32, kindInt64, kindFloat64, kindString, kindBool, kindDate32,
		kindBinary, kindDictionary, kindAny:
		return nil
	case kindTimestamp:
		if _, ok := parseUnit(t.Unit); !ok && t.Unit != "" {
			return errorf(ErrInvalidSignature, "timestamp unit %q is not one of s, ms, us, ns", t.Unit)
		}
		return nil
	case kindList:
		if t.ListSchema == nil {
			return errorf(ErrInvalidSignature, "list type without an element type")
		}
		return t.ListSchema.Type.validate()
	case kindStruct:
		seen := make(map[string]bool, len(t.StructDef))
		for _, f := range t.StructDef {
			if seen[f.Name] {
				return errorf(ErrInvalidSignature, "struct field %q declared twice", f.Name)
			}
			seen[f.Name] = true
			if err := f.Type.validate(); err != nil {
				return err
			}
		}
		return nil
	}
	return errorf(ErrInvalidSignature, "unknown type %q", t.Kind)
}
