package rgoipc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/endian"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"mangoro/internal/wire"
)

// flatTypes holds every type the fast path loads, with a JSON value for
// each of three rows (the last row null where the type allows).
var flatTypes = []struct {
	name string
	typ  arrow.DataType
	vals string
}{
	{"null", arrow.Null, "null, null, null"},
	{"bool", arrow.FixedWidthTypes.Boolean, "true, false, null"},
	{"int8", arrow.PrimitiveTypes.Int8, "-128, 127, null"},
	{"int16", arrow.PrimitiveTypes.Int16, "-300, 300, null"},
	{"int32", arrow.PrimitiveTypes.Int32, "-70000, 70000, null"},
	{"int64", arrow.PrimitiveTypes.Int64, "-5000000000, 5000000000, null"},
	{"uint8", arrow.PrimitiveTypes.Uint8, "0, 255, null"},
	{"uint16", arrow.PrimitiveTypes.Uint16, "0, 65535, null"},
	{"uint32", arrow.PrimitiveTypes.Uint32, "0, 4294967295, null"},
	{"uint64", arrow.PrimitiveTypes.Uint64, "0, 18446744073709551615, null"},
	{"float16", arrow.FixedWidthTypes.Float16, "1.5, -2, null"},
	{"float32", arrow.PrimitiveTypes.Float32, "1.25, -3.5, null"},
	{"float64", arrow.PrimitiveTypes.Float64, "1.5, -1e300, null"},
	{"date32", arrow.FixedWidthTypes.Date32, "19000, -1, null"},
	{"date64", arrow.FixedWidthTypes.Date64, "86400000, 0, null"},
	{"time32", arrow.FixedWidthTypes.Time32ms, "1000, 86399999, null"},
	{"time64", arrow.FixedWidthTypes.Time64ns, "1, 86399999999999, null"},
	{"ts_s", &arrow.TimestampType{Unit: arrow.Second}, "1, -1, null"},
	{"ts_ms_utc", &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, "1700000000000, 0, null"},
	{"ts_us_zone", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Paris"}, "1, 2, null"},
	{"ts_ns", &arrow.TimestampType{Unit: arrow.Nanosecond}, "1, 2, null"},
	{"duration", arrow.FixedWidthTypes.Duration_us, "5, -5, null"},
	{"utf8", arrow.BinaryTypes.String, `"a", "\u00e9t\u00e9", null`},
	{"large_utf8", arrow.BinaryTypes.LargeString, `"", "long text", null`},
	{"binary", arrow.BinaryTypes.Binary, `"AAEC", "", null`},
	{"large_binary", arrow.BinaryTypes.LargeBinary, `"/w==", "AA==", null`},
}

// jsonRows turns per-column value lists into RecordFromJSON's rows.
func jsonRows(names []string, cols [][]string, rows int) string {
	var b strings.Builder
	b.WriteString("[")
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(",")
		}
		b.WriteString("{")
		for i, n := range names {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%q: %s", n, strings.TrimSpace(cols[i][r]))
		}
		b.WriteString("}")
	}
	return b.String() + "]"
}

// ipcStream writes one batch per JSON document with arrow-go's Writer.
func ipcStream(t testing.TB, mem memory.Allocator, schema *arrow.Schema, opts []ipc.Option, batches ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, append([]ipc.Option{ipc.WithSchema(schema), ipc.WithAllocator(mem)}, opts...)...)
	for _, js := range batches {
		rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(js))
		if err != nil {
			t.Fatalf("RecordFromJSON: %v", err)
		}
		err = w.Write(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// batchMeta finds the first record batch message of payload and returns
// its metadata (aliasing payload, for patching), the positions of its
// node and buffer vectors, and its body.
func batchMeta(t testing.TB, payload []byte) (meta []byte, nodes, bufs int, body []byte) {
	t.Helper()
	for rest := payload; len(rest) > 0; {
		m, r, err := nextMessage(rest)
		if err != nil || m.meta == nil {
			break
		}
		rest = r
		if m.kind != fbHeaderRecordBatch {
			continue
		}
		v := fbVerifier{buf: m.meta, tables: 4}
		nodes, _, _ := v.vector(m.header, 1, 16)
		bufs, _, _ := v.vector(m.header, 2, 16)
		return m.meta, nodes, bufs, m.body
	}
	t.Fatal("no record batch in stream")
	return nil, 0, 0, nil
}

func put64(b []byte, pos int, v int64) { binary.LittleEndian.PutUint64(b[pos:], uint64(v)) }
func get64(b []byte, pos int) int64    { return int64(binary.LittleEndian.Uint64(b[pos:])) }

// setRows sets the batch length and every node length.
func setRows(t testing.TB, p []byte, n int64, fields int) {
	meta, nodes, _, _ := batchMeta(t, p)
	v := fbVerifier{buf: meta, tables: 4}
	root, _ := v.deref(0)
	mt, _ := v.table(root)
	rb, _, _ := v.sub(mt, 2)
	pos, _ := v.field(rb, 0, 8)
	if pos < 0 {
		t.Fatal("batch without length field")
	}
	put64(meta, pos, n)
	for i := 0; i < fields; i++ {
		put64(meta, nodes+16*i, n)
	}
}

// warmCache caches the schema of payload's first message, as an earlier
// call with that schema would have, so that a broken batch still meets
// the fast path.
func warmCache(c *flatSchemaCache, payload []byte, mem memory.Allocator) {
	m, _, err := nextMessage(payload)
	if err != nil || m.meta == nil || m.kind != fbHeaderSchema {
		return
	}
	prefix, n, _ := messageFrame(payload)
	first := append(append([]byte(nil), payload[:prefix+int(n)+len(m.body)]...), eos...)
	rec, err := decodeRecordCached(first, mem, nil)
	if err != nil {
		return
	}
	c.add(payload, rec.Schema())
	rec.Release()
}

// sameRecord fails unless got equals want: schema and metadata, values,
// and the very buffers arrow-go's loader makes (nil where it leaves nil).
func sameRecord(t testing.TB, want, got arrow.RecordBatch) {
	t.Helper()
	ws, gs := want.Schema(), got.Schema()
	if !ws.Equal(gs) || !ws.Metadata().Equal(gs.Metadata()) {
		t.Fatalf("schema differs:\nwant %v\n got %v", ws, gs)
	}
	for i, f := range ws.Fields() {
		if !f.Metadata.Equal(gs.Field(i).Metadata) {
			t.Fatalf("field %d metadata differs: want %v, got %v", i, f.Metadata, gs.Field(i).Metadata)
		}
	}
	// Exact values, except that NaN equals NaN (the buffers are compared
	// byte for byte below).
	if !array.RecordEqual(want, got) && !array.RecordApproxEqual(want, got, array.WithNaNsEqual(true), array.WithAbsTolerance(0)) {
		t.Fatalf("records differ:\nwant %v\n got %v", want, got)
	}
	for i := range want.Columns() {
		wd, gd := want.Column(i).Data(), got.Column(i).Data()
		if wd.NullN() != gd.NullN() || wd.Offset() != gd.Offset() || len(wd.Buffers()) != len(gd.Buffers()) {
			t.Fatalf("column %d: nulls %d/%d, offset %d/%d, %d/%d buffers", i, wd.NullN(), gd.NullN(),
				wd.Offset(), gd.Offset(), len(wd.Buffers()), len(gd.Buffers()))
		}
		for j, wb := range wd.Buffers() {
			gb := gd.Buffers()[j]
			if (wb == nil) != (gb == nil) || wb != nil && !bytes.Equal(wb.Bytes(), gb.Bytes()) {
				t.Fatalf("column %d buffer %d differs: %v vs %v", i, j, wb, gb)
			}
		}
	}
}

// TestDecodeRecordFastMatchesReader decodes each stream with ipc.Reader
// alone and with the schema cache (a miss that fills it, then a hit) and
// requires the same record or an error from every path.
func TestDecodeRecordFastMatchesReader(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	md := arrow.NewMetadata([]string{"origin", "r"}, []string{"test", "data.frame"})
	fmd := arrow.NewMetadata([]string{"units"}, []string{"cm"})
	var fields []arrow.Field
	var names []string
	var vals [][]string
	for i, ft := range flatTypes {
		f := arrow.Field{Name: ft.name, Type: ft.typ, Nullable: true}
		if i%3 == 0 {
			f.Metadata = fmd
		}
		fields = append(fields, f)
		names = append(names, ft.name)
		vals = append(vals, strings.Split(ft.vals, ","))
	}
	all := arrow.NewSchema(fields, &md)
	allRows := func(n int) string { return jsonRows(names, vals, n) }
	noNulls := func(n int) string {
		nn := make([][]string, len(vals))
		for i, v := range vals {
			nn[i] = append([]string(nil), v...)
			if flatTypes[i].name != "null" {
				nn[i][2] = nn[i][0]
			}
		}
		return jsonRows(names, nn, n)
	}
	f64s := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, {Name: "y", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	strInt := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	strIntRows := `[{"s": "a", "n": 1}, {"s": "bb", "n": 2}, {"s": "ccc", "n": 3}]`
	one := func(name string, typ arrow.DataType) *arrow.Schema {
		return arrow.NewSchema([]arrow.Field{{Name: name, Type: typ, Nullable: true}}, nil)
	}
	w := func(s *arrow.Schema, batches ...string) []byte { return ipcStream(t, mem, s, nil, batches...) }

	cases := []struct {
		name    string
		payload []byte
		cached  bool // the schema enters the cache
		fast    bool // the fast path decodes it
		fails   bool
	}{
		{"every flat type, nulls", w(all, allRows(3)), true, true, false},
		{"every flat type, no nulls", w(all, noNulls(3)), true, true, false},
		{"every flat type, one row", w(all, allRows(1)), true, true, false},
		{"every flat type, zero rows", w(all, "[]"), true, true, false},
		{"add", w(f64s, `[{"x": 1.5, "y": 0.5}, {"x": null, "y": 1}]`), true, true, false},
		{"no fields, five rows", func() []byte {
			s := arrow.NewSchema(nil, &md)
			var buf bytes.Buffer
			wr := ipc.NewWriter(&buf, ipc.WithSchema(s), ipc.WithAllocator(mem))
			rec := array.NewRecordBatch(s, nil, 5)
			if err := wr.Write(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
			_ = wr.Close()
			return buf.Bytes()
		}(), true, true, false},
		{"no end-of-stream marker", bytes.TrimSuffix(w(f64s, `[{"x": 1, "y": 2}]`), eos), true, true, false},
		{"bytes after end-of-stream", append(w(f64s, `[{"x": 1, "y": 2}]`), 1, 2, 3), true, true, false},
		{"fewer rows than the buffers hold", func() []byte {
			p := w(strInt, strIntRows)
			setRows(t, p, 2, 2)
			return p
		}(), true, true, false},
		{"buffers start past their first element", func() []byte {
			p := w(strInt, strIntRows)
			setRows(t, p, 2, 2)
			meta, _, bufs, _ := batchMeta(t, p)
			// buffers: s validity, s offsets, s values, n validity, n data
			put64(meta, bufs+16*1, get64(meta, bufs+16*1)+4) // offsets now start at 1
			put64(meta, bufs+16*1+8, get64(meta, bufs+16*1+8)-4)
			put64(meta, bufs+16*4, get64(meta, bufs+16*4)+8)
			put64(meta, bufs+16*4+8, get64(meta, bufs+16*4+8)-8)
			return p
		}(), true, true, false},
		{"zero-length buffer at a wild offset", func() []byte {
			p := w(one("n", arrow.PrimitiveTypes.Int64), "[]")
			meta, _, bufs, _ := batchMeta(t, p)
			put64(meta, bufs+16, 1<<40) // length 0: never sliced
			return p
		}(), true, true, false},
		{"compressed (lz4)", ipcStream(t, mem, strInt, []ipc.Option{ipc.WithLZ4()}, strIntRows), true, false, false},
		{"two batches", w(f64s, `[{"x": 1, "y": 2}]`, `[{"x": 3, "y": null}]`), true, false, false},
		{"schema only", w(f64s), true, false, false},
		{"dictionary", w(one("f", &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}), `[{"f": "a"}, {"f": "b"}]`), false, false, false},
		{"list", w(one("l", arrow.ListOf(arrow.PrimitiveTypes.Int32)), `[{"l": [1, 2]}, {"l": null}]`), false, false, false},
		{"big-endian schema", func() []byte {
			s := arrow.NewSchemaWithEndian(f64s.Fields(), nil, endian.BigEndian)
			return w(s, `[{"x": 1, "y": 2}]`)
		}(), false, false, false},
		{"extension type name on a field", w(arrow.NewSchema([]arrow.Field{{Name: "u", Type: arrow.BinaryTypes.String,
			Metadata: arrow.NewMetadata([]string{ipc.ExtensionTypeKeyName}, []string{"example.unknown"})}}, nil), `[{"u": "x"}]`), false, false, false},
		{"short node vector", func() []byte {
			p := w(f64s, `[{"x": 1, "y": 2}]`)
			meta, nodes, _, _ := batchMeta(t, p)
			binary.LittleEndian.PutUint32(meta[nodes-4:], 1)
			return p
		}(), true, false, false},
		// Hostile batches: every path must refuse them.
		{"buffer past the body", func() []byte {
			p := w(f64s, `[{"x": 1, "y": 2}]`)
			meta, _, bufs, body := batchMeta(t, p)
			put64(meta, bufs+16*3, int64(len(body)))
			return p
		}(), true, true, true},
		{"buffer length overflows", func() []byte {
			p := w(f64s, `[{"x": 1, "y": 2}]`)
			meta, _, bufs, _ := batchMeta(t, p)
			put64(meta, bufs+16*3, 8)
			put64(meta, bufs+16*3+8, 1<<63-1)
			return p
		}(), true, true, true},
		{"negative buffer offset", func() []byte {
			p := w(f64s, `[{"x": 1, "y": 2}]`)
			meta, _, bufs, _ := batchMeta(t, p)
			put64(meta, bufs+16*1, -8)
			return p
		}(), true, true, true},
		{"negative length", func() []byte {
			p := w(f64s, `[{"x": 1, "y": 2}]`)
			setRows(t, p, -1, 2)
			return p
		}(), true, true, true},
		{"more rows than the data", func() []byte {
			p := w(f64s, `[{"x": 1, "y": 2}]`)
			setRows(t, p, 100, 2)
			return p
		}(), true, true, true},
		{"int8 rows into the padding", func() []byte {
			p := w(one("b", arrow.PrimitiveTypes.Int8), `[{"b": 1}, {"b": 2}, {"b": 3}]`)
			setRows(t, p, 6, 1) // the 3-byte buffer is padded to 8 in the body
			return p
		}(), true, true, true},
		{"column shorter than the batch", func() []byte {
			p := w(f64s, `[{"x": 1, "y": 2}, {"x": 3, "y": 4}]`)
			meta, nodes, _, _ := batchMeta(t, p)
			put64(meta, nodes+16, 1)
			return p
		}(), true, true, true},
		{"string offsets past the values", func() []byte {
			p := w(strInt, strIntRows)
			meta, _, bufs, body := batchMeta(t, p)
			off := get64(meta, bufs+16*1)
			binary.LittleEndian.PutUint32(body[off+12:], 1000)
			return p
		}(), true, true, true},
		{"decreasing string offsets", func() []byte {
			p := w(strInt, strIntRows)
			meta, _, bufs, body := batchMeta(t, p)
			off := get64(meta, bufs+16*1)
			binary.LittleEndian.PutUint32(body[off+4:], 5)
			return p
		}(), true, true, true},
		{"large string offsets too few", func() []byte {
			p := w(one("s", arrow.BinaryTypes.LargeString), `[{"s": "a"}, {"s": "b"}]`)
			meta, _, bufs, _ := batchMeta(t, p)
			put64(meta, bufs+16*1+8, 16)
			return p
		}(), true, true, true},
		{"nulls without a validity buffer", func() []byte {
			p := w(f64s, `[{"x": 1, "y": 2}, {"x": 3, "y": 4}]`)
			meta, nodes, _, _ := batchMeta(t, p)
			put64(meta, nodes+8, 1)
			return p
		}(), true, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, errWant := decodeRecordCached(tc.payload, mem, nil)
			if want != nil {
				defer want.Release()
			}
			if (errWant != nil) != tc.fails {
				t.Fatalf("ipc.Reader path: error %v, want failure %v", errWant, tc.fails)
			}
			c := new(flatSchemaCache)
			// A miss: ipc.Reader decodes and (when the stream qualifies) caches.
			miss, errMiss := decodeRecordCached(tc.payload, mem, c)
			if miss != nil {
				defer miss.Release()
			}
			warmCache(c, tc.payload, mem)
			prefix, n, _ := messageFrame(tc.payload)
			if got := c.lookup(tc.payload[:prefix+int(n)]) != nil; got != tc.cached {
				t.Fatalf("schema cached %v, want %v", got, tc.cached)
			}
			raw, ok, _ := c.decode(tc.payload)
			if raw != nil {
				raw.Release()
			}
			if ok != tc.fast {
				t.Fatalf("fast path taken %v, want %v", ok, tc.fast)
			}
			hit, errHit := decodeRecordCached(tc.payload, mem, c)
			if hit != nil {
				defer hit.Release()
			}
			for _, err := range []error{errWant, errMiss, errHit} {
				if (err != nil) != tc.fails {
					t.Fatalf("errors differ: reader %v, miss %v, hit %v", errWant, errMiss, errHit)
				}
				if err != nil && !errors.Is(err, wire.ErrMalformed) {
					t.Fatalf("error does not wrap wire.ErrMalformed: %v", err)
				}
			}
			if tc.fails {
				t.Logf("reader: %v\nfast:   %v", errWant, errHit)
				return
			}
			sameRecord(t, want, miss)
			sameRecord(t, want, hit)
		})
	}
}

// Many goroutines decoding streams of more schemas than the cache has
// slots get the right records (run with -race).
func TestDecodeRecordFastConcurrent(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := new(flatSchemaCache)
	var streams [][]byte
	for i := 0; i < 2*len(c.slots); i++ {
		s := arrow.NewSchema([]arrow.Field{{Name: fmt.Sprintf("x%d", i), Type: arrow.PrimitiveTypes.Int64}}, nil)
		streams = append(streams, ipcStream(t, mem, s, nil, fmt.Sprintf(`[{"x%d": %d}]`, i, i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 200; k++ {
				i := (g*7 + k) % len(streams)
				if k%32 >= 16 {
					i %= 4 // stretches that stay within the cache
				}
				rec, err := decodeRecordCached(streams[i], mem, c)
				if err != nil {
					errs <- err
					return
				}
				got := rec.Column(0).(*array.Int64).Value(0)
				name := rec.ColumnName(0)
				rec.Release()
				if got != int64(i) || name != fmt.Sprintf("x%d", i) {
					errs <- fmt.Errorf("stream %d decoded as %s = %d", i, name, got)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// The cache keeps nothing of the request it learnt from: the server reuses
// request buffers once a call is done.
func TestDecodeRecordFastCacheOwnsItsBytes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	md := arrow.NewMetadata([]string{"k"}, []string{"v"})
	s := arrow.NewSchema([]arrow.Field{{Name: "when", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "Asia/Tokyo"}, Nullable: true}}, &md)
	orig := ipcStream(t, mem, s, nil, `[{"when": 1}]`)
	req := bytes.Clone(orig)
	c := new(flatSchemaCache)
	rec, err := decodeRecordCached(req, mem, c)
	if err != nil {
		t.Fatal(err)
	}
	rec.Release()
	for i := range req {
		req[i] = 0xAA
	}
	rec, ok, err := c.decode(bytes.Clone(orig))
	if !ok || err != nil {
		t.Fatalf("fast path not taken after the first request's bytes changed: ok %v, err %v", ok, err)
	}
	defer rec.Release()
	if !rec.Schema().Equal(s) || !rec.Schema().Metadata().Equal(md) {
		t.Fatalf("cached schema changed with the request bytes: %v", rec.Schema())
	}
}
