package rgoipc

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"mangoro/internal/wire"
)

func boolNA(mem memory.Allocator, n int) arrow.Array {
	b := array.NewBooleanBuilder(mem)
	defer b.Release()
	b.AppendNulls(n)
	return b.NewArray()
}

// TestConformConversions checks the conversions R habits need: whole
// doubles and R integers where int32/int64 is declared, and a bare NA
// (an all-NA logical column) for any declared type. The handler sees the
// declared Arrow type; NAs stay NA.
func TestConformConversions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		name     string
		declared Type
		arr      func() arrow.Array
		wantType arrow.DataType
		want     string
	}{
		{"whole doubles to int32", Int32(), func() arrow.Array { return f64(mem, 2.0, nil, -7.0) },
			arrow.PrimitiveTypes.Int32, "[2 (null) -7]"},
		{"whole doubles to int64", Int64(), func() arrow.Array { return f64(mem, 1.0, 0x1p53) },
			arrow.PrimitiveTypes.Int64, "[1 9007199254740992]"},
		{"int32 to int64", Int64(), func() arrow.Array { return i32(mem, 1, nil, 2) },
			arrow.PrimitiveTypes.Int64, "[1 (null) 2]"},
		{"int32 to float64", Float64(), func() arrow.Array { return i32(mem, 1, nil) },
			arrow.PrimitiveTypes.Float64, "[1 (null)]"},
		{"NA to float64", Float64(), func() arrow.Array { return boolNA(mem, 2) },
			arrow.PrimitiveTypes.Float64, "[(null) (null)]"},
		{"NA to string", String(), func() arrow.Array { return boolNA(mem, 1) },
			arrow.BinaryTypes.String, "[(null)]"},
		{"NA to int64", Int64(), func() arrow.Array { return boolNA(mem, 1) },
			arrow.PrimitiveTypes.Int64, "[(null)]"},
		{"NA to date32", Date32(), func() arrow.Array { return boolNA(mem, 1) },
			arrow.FixedWidthTypes.Date32, "[(null)]"},
		{"NA to list", List(Int32()), func() arrow.Array { return boolNA(mem, 1) },
			arrow.ListOf(arrow.PrimitiveTypes.Int32), "[(null)]"},
		{"NA stays bool", Bool(), func() arrow.Array { return boolNA(mem, 1) },
			arrow.FixedWidthTypes.Boolean, "[(null)]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := NewRegistry()
			var got string
			var gotType arrow.DataType
			err := reg.HandleFunc("f", Signature{Args: []Arg{{Name: "a", Type: tc.declared}}, Returns: Any()},
				func(_ context.Context, a *Args) (arrow.RecordBatch, error) {
					gotType, got = a.Column("a").DataType(), fmt.Sprint(a.Column("a"))
					rec := a.Record()
					rec.Retain()
					return rec, nil
				})
			if err != nil {
				t.Fatal(err)
			}
			s := NewServer(reg, WithAllocator(mem), WithLogger(nil))
			env, rec := readReply(t, s.handleMessage(context.Background(), callMsg(t, "f", col{"a", tc.arr()}), nil))
			if env.Type != wire.MsgResult {
				t.Fatalf("reply %v: %s", env.Type, env.Error)
			}
			rec.Release()
			if !arrow.TypeEqual(gotType, tc.wantType) || got != tc.want {
				t.Errorf("handler saw %v %s, want %v %s", gotType, got, tc.wantType, tc.want)
			}
		})
	}
}
