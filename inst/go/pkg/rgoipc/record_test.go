package rgoipc

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// builtRecord must answer as arrow-go's own record over the same columns.
func TestBuiltRecordActsAsArrowRecord(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	x, s := f64(mem, 1.5, nil, 3.0), str(mem, "a", "b", "c")
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: x.DataType(), Nullable: true}, {Name: "s", Type: s.DataType(), Nullable: true}}, nil)
	want := array.NewRecordBatch(schema, []arrow.Array{x, s}, 3) // retains both
	defer want.Release()
	var got arrow.RecordBatch = newBuiltRecord(schema, []arrow.Array{x, s}, 3) // takes x and s over
	defer got.Release()

	if !array.RecordEqual(got, want) || got.NumRows() != 3 || got.NumCols() != 2 || got.ColumnName(1) != "s" || got.Schema() != schema {
		t.Fatalf("got %v, want %v", got, want)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("String() = %s, want %s", got, want)
	}
	gj, err1 := got.MarshalJSON()
	wj, err2 := want.MarshalJSON()
	if err1 != nil || err2 != nil || string(gj) != string(wj) {
		t.Errorf("MarshalJSON() = %s, %v; want %s, %v", gj, err1, wj, err2)
	}
	sl, wsl := got.NewSlice(1, 3), want.NewSlice(1, 3)
	defer sl.Release()
	defer wsl.Release()
	if !array.RecordEqual(sl, wsl) {
		t.Errorf("NewSlice(1, 3) = %v, want %v", sl, wsl)
	}
	// SetColumn checks as arrow-go's does.
	if _, err := got.SetColumn(0, s); err == nil {
		t.Error("SetColumn with a string column in a float64 field: no error")
	}
	y := f64(mem, 7.0, 8.0, 9.0)
	defer y.Release()
	set, err := got.SetColumn(0, y)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Release()
	if set.Column(0) != y || set.Column(1) != s {
		t.Errorf("SetColumn(0, y) = %v", set)
	}
}

// Retain and Release count references; the columns go with the last.
func TestBuiltRecordReferences(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	z := f64(mem, 1.0, 2.0)
	r := newBuiltRecord(arrow.NewSchema([]arrow.Field{{Name: "z", Type: z.DataType(), Nullable: true}}, nil), []arrow.Array{z}, 2)
	held := mem.CurrentAlloc()
	r.Retain()
	r.Release()
	if mem.CurrentAlloc() != held || held == 0 {
		t.Fatalf("after Retain and one Release: %d bytes held, want %d", mem.CurrentAlloc(), held)
	}
	r.Release()
	if mem.CurrentAlloc() != 0 {
		t.Errorf("after the last Release: %d bytes held", mem.CurrentAlloc())
	}
}

// A builder used again after Record must not touch the record it handed over
// (its first column lives in the builder's own room).
func TestResultBuilderReuseKeepsHandedRecord(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := NewResult(mem)
	a := f64(mem, 1.0, 2.0)
	rec, err := b.Column("a", a).Record()
	a.Release()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	c := str(mem, "x")
	rec2, err := b.Column("c", c).Record()
	c.Release()
	if err != nil {
		t.Fatal(err)
	}
	defer rec2.Release()
	if rec.ColumnName(0) != "a" || rec.Column(0).DataType().ID() != arrow.FLOAT64 || rec.NumRows() != 2 {
		t.Errorf("the first record changed: %v", rec)
	}
	if rec2.ColumnName(0) != "c" || rec2.NumRows() != 1 {
		t.Errorf("second record = %v", rec2)
	}
}

func TestSameType(t *testing.T) {
	ts := func(unit arrow.TimeUnit, tz string) arrow.DataType {
		return &arrow.TimestampType{Unit: unit, TimeZone: tz}
	}
	tests := []struct {
		a, b arrow.DataType
		same bool
	}{
		{arrow.PrimitiveTypes.Float64, &arrow.Float64Type{}, true},
		{arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Int32, false},
		{arrow.BinaryTypes.String, arrow.BinaryTypes.Binary, false},
		{ts(arrow.Second, "UTC"), ts(arrow.Second, "UTC"), true},
		{ts(arrow.Second, "UTC"), ts(arrow.Millisecond, "UTC"), false},
		{ts(arrow.Second, "UTC"), ts(arrow.Second, ""), false},
		{arrow.ListOf(arrow.PrimitiveTypes.Int32), arrow.ListOf(arrow.PrimitiveTypes.Int32), true},
		{arrow.ListOf(arrow.PrimitiveTypes.Int32), arrow.ListOf(arrow.PrimitiveTypes.Int64), false},
		{nil, nil, true},
		{nil, arrow.PrimitiveTypes.Int32, false},
	}
	for _, tc := range tests {
		if got := sameType(tc.a, tc.b); got != tc.same || got != arrow.TypeEqual(tc.a, tc.b, arrow.CheckMetadata()) {
			t.Errorf("sameType(%v, %v) = %v, want %v (as arrow.TypeEqual)", tc.a, tc.b, got, tc.same)
		}
	}
}
