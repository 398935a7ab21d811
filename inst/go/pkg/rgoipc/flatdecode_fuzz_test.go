package rgoipc

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"mangoro/internal/wire"
)

// FuzzDecodeRecordFast decodes each input twice: first with an empty
// schema cache (ipc.Reader, which fills the cache), then with the schema
// cached, which sends a [schema][batch] stream of flat columns down the
// fast path. Both must fail, or both succeed with the same record; no
// panic, no leak. The schema is also cached from the schema message alone,
// so that mutated batches, which ipc.Reader refuses, still meet the fast
// path. Seeds: FuzzDecodeRecord's corpus and a stream of every flat type.
func FuzzDecodeRecordFast(f *testing.F) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeRecord")
	files, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range files {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		// go test fuzz v1\n[]byte("...")\n
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "[]byte(") {
			f.Fatalf("%s: unexpected corpus format", e.Name())
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			f.Fatalf("%s: %v", e.Name(), err)
		}
		f.Add([]byte(s))
	}
	mem := memory.NewGoAllocator()
	var fields []arrow.Field
	var names []string
	var vals [][]string
	for _, ft := range flatTypes {
		fields = append(fields, arrow.Field{Name: ft.name, Type: ft.typ, Nullable: true})
		names = append(names, ft.name)
		vals = append(vals, strings.Split(ft.vals, ","))
	}
	f.Add(ipcStream(f, mem, arrow.NewSchema(fields, nil), nil, jsonRows(names, vals, 3)))
	f.Add(ipcStream(f, mem, arrow.NewSchema(fields[1:3], nil), nil, jsonRows(names[1:3], vals[1:3], 1)))

	f.Fuzz(func(t *testing.T, payload []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		c := new(flatSchemaCache)
		want, errWant := decodeRecordCached(payload, mem, c)
		if want != nil {
			defer want.Release()
		}
		warmCache(c, payload, mem)
		got, errGot := decodeRecordCached(payload, mem, c)
		if got != nil {
			defer got.Release()
		}
		for _, err := range []error{errWant, errGot} {
			if err != nil && !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error does not wrap wire.ErrMalformed: %v", err)
			}
		}
		if (errWant == nil) != (errGot == nil) {
			t.Fatalf("ipc.Reader: %v; cached schema: %v", errWant, errGot)
		}
		if errWant != nil {
			return
		}
		sameRecord(t, want, got)
		for _, col := range got.Columns() {
			for i := 0; i < col.Len() && i < 256; i++ {
				_ = col.ValueStr(i)
			}
		}
	})
}
