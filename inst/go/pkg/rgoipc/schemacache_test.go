package rgoipc

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The cached-schema path of writeStream writes exactly what arrow-go's
// Writer writes, for the first reply of a schema and for later ones.
func TestWriteStreamCachedSchemaMatchesWriter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	md := arrow.NewMetadata([]string{"k"}, []string{"v"})
	cases := []struct {
		name   string
		schema *arrow.Schema
		build  func(b *array.RecordBuilder)
	}{
		{"float64", arrow.NewSchema([]arrow.Field{{Name: "result", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil),
			func(b *array.RecordBuilder) {
				b.Field(0).(*array.Float64Builder).AppendValues([]float64{1.5, 2}, nil)
				b.Field(0).(*array.Float64Builder).AppendNull()
			}},
		{"string+int with metadata", arrow.NewSchema([]arrow.Field{
			{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}, &md),
			func(b *array.RecordBuilder) {
				b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "", "\u00e9"}, []bool{true, false, true})
				b.Field(1).(*array.Int32Builder).AppendValues([]int32{1, 2, 3}, nil)
			}},
		{"zero rows", arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil),
			func(b *array.RecordBuilder) {}},
		{"dictionary (Writer path)", arrow.NewSchema([]arrow.Field{{Name: "f", Type: &arrow.DictionaryType{
			IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}}}, nil),
			func(b *array.RecordBuilder) {
				_ = b.Field(0).(*array.BinaryDictionaryBuilder).AppendString("lvl")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := array.NewRecordBuilder(mem, tc.schema)
			defer b.Release()
			tc.build(b)
			rec := b.NewRecordBatch()
			defer rec.Release()
			var want bytes.Buffer
			w := ipc.NewWriter(&want, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ { // first: encodes the schema; second: from the cache
				var got bytes.Buffer
				if err := writeStream(&got, rec, mem, nil); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Fatalf("reply %d: cached-schema stream differs from ipc.Writer's (%d vs %d bytes)", i, got.Len(), want.Len())
				}
			}
		})
	}
}

// schemaFor hands back the schema it made for an equal field list, and a
// new one for any difference a reader could see.
func TestSchemaForReusesOnlyEqualFields(t *testing.T) {
	f64 := arrow.PrimitiveTypes.Float64
	md := arrow.NewMetadata([]string{"unit"}, []string{"m"})
	base := []arrow.Field{{Name: "x", Type: f64, Nullable: true}, {Name: "y", Type: arrow.BinaryTypes.String, Nullable: true}}
	a := schemaFor(base)
	again := append([]arrow.Field(nil), base...)
	if b := schemaFor(again); b != a {
		t.Fatal("an equal field list built a second schema")
	}
	variants := map[string][]arrow.Field{
		"name":      {{Name: "z", Type: f64, Nullable: true}, base[1]},
		"type":      {{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, base[1]},
		"nullable":  {{Name: "x", Type: f64}, base[1]},
		"metadata":  {{Name: "x", Type: f64, Nullable: true, Metadata: md}, base[1]},
		"count":     base[:1],
		"list type": {{Name: "x", Type: arrow.ListOf(f64), Nullable: true}, base[1]},
	}
	for name, fields := range variants {
		sc := schemaFor(fields)
		if sc == a || sameSchema(sc, a) {
			t.Errorf("%s: reused the schema of different fields", name)
		}
		if !sc.Equal(arrow.NewSchema(fields, nil)) || sc.NumFields() != len(fields) {
			t.Errorf("%s: schema %v does not hold its fields", name, sc)
		}
	}
	// A list of the same element type is the same list type.
	l := []arrow.Field{{Name: "x", Type: arrow.ListOf(f64), Nullable: true}, base[1]}
	if schemaFor(l) != schemaFor([]arrow.Field{{Name: "x", Type: arrow.ListOf(f64), Nullable: true}, base[1]}) {
		t.Error("equal list fields built a second schema")
	}
	// Schema-level metadata is never taken for a schemaFor schema.
	withMD := arrow.NewSchema(base, &md)
	if sameSchema(withMD, a) || sameFields(withMD, base) {
		t.Error("a schema with metadata matched one without")
	}
}
