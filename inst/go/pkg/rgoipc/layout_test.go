package rgoipc

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestCheckLayoutDictionary(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	levels := array.NewStringBuilder(mem)
	levels.AppendValues([]string{"lo", "hi"}, nil)
	dict := levels.NewStringArray()
	defer dict.Release()
	levels.Release()
	factor := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

	indices := func(vals ...int32) *memory.Buffer {
		return memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(vals))
	}
	tests := []struct {
		name    string
		data    arrow.ArrayData
		wantErr string
	}{
		// arrow-go reads an empty dictionary column with no index buffer.
		{"zero rows without index buffer", array.NewDataWithDictionary(factor, 0, []*memory.Buffer{nil, nil}, 0, 0, dict.Data().(*array.Data)), ""},
		{"indices in range", array.NewDataWithDictionary(factor, 3, []*memory.Buffer{nil, indices(0, 1, 0)}, 0, 0, dict.Data().(*array.Data)), ""},
		{"index out of range", array.NewDataWithDictionary(factor, 2, []*memory.Buffer{nil, indices(0, 2)}, 0, 0, dict.Data().(*array.Data)), "out of range"},
		{"index buffer too short", array.NewDataWithDictionary(factor, 3, []*memory.Buffer{nil, indices(0)}, 0, 0, dict.Data().(*array.Data)), "index"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.data.Release()
			err := checkLayout(tc.data)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("checkLayout = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("checkLayout = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
