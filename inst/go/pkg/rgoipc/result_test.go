package rgoipc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestResultBuilder(t *testing.T) {
	tests := []struct {
		name    string
		cols    func(memory.Allocator) []col
		want    string // the record, or the start of the error
		wantErr bool
	}{
		{"columns keep names and order", func(m memory.Allocator) []col {
			return []col{{"b", f64(m, 1.5, nil)}, {"a", str(m, "x", "y")}}
		}, "b=[1.5 (null)];a=[\"x\" \"y\"]", false},
		{"no columns", func(memory.Allocator) []col { return nil }, "", false},
		{"unequal lengths", func(m memory.Allocator) []col {
			return []col{{"b", f64(m, 1.0)}, {"a", str(m, "x", "y")}}
		}, `rgoipc: result column "a" has 2 rows, column "b" has 1`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			b := NewResult(mem)
			for _, c := range tc.cols(mem) {
				b.Column(c.name, c.arr)
				c.arr.Release() // the builder holds its own reference
			}
			rec, err := b.Record()
			if tc.wantErr {
				if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
					t.Fatalf("error = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Release()
			var cols []string
			for i := 0; i < int(rec.NumCols()); i++ {
				cols = append(cols, rec.ColumnName(i)+"="+fmt.Sprint(rec.Column(i)))
			}
			if got := strings.Join(cols, ";"); got != tc.want {
				t.Errorf("record = %s, want %s", got, tc.want)
			}
			for i, f := range rec.Schema().Fields() {
				if !f.Nullable || !arrow.TypeEqual(f.Type, rec.Column(i).DataType()) {
					t.Errorf("field %d = %v", i, f)
				}
			}
		})
	}
}
