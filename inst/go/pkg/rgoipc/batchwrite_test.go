package rgoipc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// writeBatchTypes are the types writeBatch covers.
var writeBatchTypes = []arrow.DataType{
	arrow.FixedWidthTypes.Boolean,
	arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
	arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
	arrow.FixedWidthTypes.Float16, arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64,
	arrow.FixedWidthTypes.Date32, arrow.FixedWidthTypes.Date64,
	arrow.FixedWidthTypes.Time32s, arrow.FixedWidthTypes.Time32ms, arrow.FixedWidthTypes.Time64us, arrow.FixedWidthTypes.Time64ns,
	&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, arrow.FixedWidthTypes.Timestamp_ns,
	arrow.FixedWidthTypes.Duration_us, arrow.FixedWidthTypes.Duration_s,
	arrow.BinaryTypes.String, arrow.BinaryTypes.Binary, arrow.BinaryTypes.LargeString, arrow.BinaryTypes.LargeBinary,
}

// How genArray lays out an array's buffers (arrow-go sends a buffer whole
// or cut depending on its length, and a bitmap or not depending on nulls).
type genOpts struct {
	nulls   string // "none" (no bitmap), "ones" (a bitmap, no null), "some", "all", "unknown" (some, null count not computed)
	bufs    string // "exact" (just the bytes needed), "pad64" (as builders make them), "long" (longer than padded)
	shifted bool   // utf8/binary: offsets that do not start at 0
}

// genArray builds an array of type dt and length n from raw buffers.
func genArray(rng *rand.Rand, mem memory.Allocator, dt arrow.DataType, n int, o genOpts) arrow.Array {
	size := func(need int) int {
		switch o.bufs {
		case "pad64":
			return pad64(need)
		case "long":
			return pad64(need) + 64 + rng.Intn(64)
		}
		return need
	}
	buffer := func(need int) *memory.Buffer {
		b := memory.NewResizableBuffer(mem)
		b.Resize(size(need))
		rng.Read(b.Bytes()[need:]) // junk after the data must not matter
		return b
	}
	nbytes := (n + 7) / 8
	var validity *memory.Buffer
	nulls := 0
	if o.nulls != "none" {
		validity = buffer(nbytes)
		bits := validity.Bytes()
		for i := 0; i < n; i++ {
			valid := o.nulls == "ones" || (o.nulls == "some" || o.nulls == "unknown") && rng.Intn(3) > 0
			if valid {
				bits[i/8] |= 1 << (i % 8)
			} else {
				bits[i/8] &^= 1 << (i % 8)
				nulls++
			}
		}
		if o.nulls == "unknown" {
			nulls = array.UnknownNullCount
		}
	}
	var bufs []*memory.Buffer
	switch w, _ := flatBatchType(dt); {
	case dt.ID() == arrow.BOOL:
		b := buffer(nbytes)
		rng.Read(b.Bytes()[:nbytes])
		bufs = []*memory.Buffer{validity, b}
	case w > 0:
		b := buffer(n * w)
		v := b.Bytes()
		for i := 0; i < n; i++ { // no NaN: RecordEqual would find NaN != NaN
			x := rng.Int63n(2001) - 1000
			switch dt.ID() {
			case arrow.FLOAT16:
				binary.LittleEndian.PutUint16(v[2*i:], float16.New(float32(x)/4).Uint16())
			case arrow.FLOAT32:
				binary.LittleEndian.PutUint32(v[4*i:], math.Float32bits(float32(x)/4))
			case arrow.FLOAT64:
				binary.LittleEndian.PutUint64(v[8*i:], math.Float64bits(float64(x)/4))
			default:
				rng.Read(v[i*w : (i+1)*w])
			}
		}
		bufs = []*memory.Buffer{validity, b}
	default:
		ow := 4
		if dt.ID() == arrow.LARGE_STRING || dt.ID() == arrow.LARGE_BINARY {
			ow = 8
		}
		base := 0
		if o.shifted {
			base = 1 + rng.Intn(20)
		}
		offs := buffer((n + 1) * ow)
		var vals []byte
		vals = append(vals, make([]byte, base)...)
		for i := 0; i <= n; i++ {
			if ow == 4 {
				binary.LittleEndian.PutUint32(offs.Bytes()[4*i:], uint32(len(vals)))
			} else {
				binary.LittleEndian.PutUint64(offs.Bytes()[8*i:], uint64(len(vals)))
			}
			for k := rng.Intn(6); k > 0 && i < n; k-- {
				vals = append(vals, byte('a'+rng.Intn(26)))
			}
		}
		vb := buffer(len(vals))
		copy(vb.Bytes(), vals)
		bufs = []*memory.Buffer{validity, offs, vb}
	}
	d := array.NewData(dt, n, bufs, nil, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	defer d.Release()
	return array.MakeFromData(d)
}

// writerStream is rec as arrow-go's ipc.Writer writes it.
func writerStream(t *testing.T, rec arrow.RecordBatch, mem memory.Allocator) []byte {
	t.Helper()
	var b bytes.Buffer
	w := ipc.NewWriter(&b, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readStream reads the one record of an Arrow IPC stream (caller releases).
func readStream(t *testing.T, b []byte, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	r, err := ipc.NewReader(bytes.NewReader(b), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if !r.Next() {
		t.Fatalf("no record in the stream: %v", r.Err())
	}
	rec := r.RecordBatch()
	rec.Retain()
	if r.Next() {
		t.Fatal("more than one record in the stream")
	}
	return rec
}

// checkFlat writes rec with writeBatch (which must cover it) and with
// arrow-go's Writer, and checks that the bytes are the same and that both
// read back as rec with its schema and metadata.
func checkFlat(t *testing.T, rec arrow.RecordBatch, mem memory.Allocator) {
	t.Helper()
	var only bytes.Buffer
	if !writeBatch(&only, rec, nil) {
		t.Fatalf("writeBatch does not cover %v", rec.Schema())
	}
	want := writerStream(t, rec, mem)
	var got bytes.Buffer
	if err := writeStream(&got, rec, mem, nil); err != nil {
		t.Fatal(err)
	}
	fast := append(append(append([]byte(nil), replySchemas.message(rec.Schema(), mem)...), only.Bytes()...), endOfStream[:]...)
	if !bytes.Equal(got.Bytes(), fast) {
		t.Fatal("writeStream did not write the cached schema, writeBatch's message and the end-of-stream marker")
	}
	// The bytes match exactly, flatbuffer layout included (batchwrite.go
	// builds it the way flatbuffers.Builder does), so no read-back-only
	// exception is needed.
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("stream differs from ipc.Writer's (%d vs %d bytes)\n got % x\nwant % x", got.Len(), len(want), got.Bytes(), want)
	}
	for _, b := range [][]byte{got.Bytes(), want} {
		back := readStream(t, b, mem)
		if !back.Schema().Equal(rec.Schema()) || !back.Schema().Metadata().Equal(rec.Schema().Metadata()) {
			t.Errorf("schema read back %v, wrote %v", back.Schema(), rec.Schema())
		}
		if !array.RecordEqual(back, rec) {
			t.Errorf("record read back differs:\n got %v\nwant %v", back, rec)
		}
		back.Release()
	}
}

// newRecord makes a record of cols (named c0, c1, ...) and releases them.
func newRecord(md *arrow.Metadata, cols ...arrow.Array) arrow.RecordBatch {
	fields := make([]arrow.Field, len(cols))
	n := int64(0)
	for i, c := range cols {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: c.DataType(), Nullable: true}
		n = int64(c.Len())
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, md), cols, n)
	for _, c := range cols {
		c.Release()
	}
	return rec
}

func TestWriteBatchMatchesWriter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	md := arrow.NewMetadata([]string{"origin", "k"}, []string{"mangoro", "v"})
	for _, dt := range writeBatchTypes {
		for _, n := range []int{0, 1, 3, 9, 65} {
			for _, nulls := range []string{"none", "ones", "some", "all", "unknown"} {
				for _, bufs := range []string{"exact", "pad64", "long"} {
					o := genOpts{nulls: nulls, bufs: bufs, shifted: bufs == "long"}
					t.Run(fmt.Sprintf("%v/%d/%s/%s", dt, n, nulls, bufs), func(t *testing.T) {
						rng := rand.New(rand.NewSource(int64(n)))
						arr := genArray(rng, mem, dt, n, o)
						defer arr.Release()
						var meta *arrow.Metadata
						if n == 3 {
							meta = &md
						}
						arr.Retain()
						rec := newRecord(meta, arr)
						checkFlat(t, rec, mem)
						rec.Release()
						// slices: at a byte boundary, inside a byte, empty, the tail
						for _, s := range [][2]int{{1, n}, {3, n - 1}, {8, n}, {n / 2, n / 2}, {n - 1, n}} {
							if s[0] < 0 || s[1] < s[0] || s[1] > n {
								continue
							}
							rec := newRecord(meta, array.NewSlice(arr, int64(s[0]), int64(s[1])))
							checkFlat(t, rec, mem)
							rec.Release()
						}
					})
				}
			}
		}
	}
}

func TestWriteBatchShapes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewSource(1))
	some := genOpts{nulls: "some", bufs: "pad64"}
	cases := []struct {
		name string
		rec  func() arrow.RecordBatch
	}{
		{"no columns, 3 rows", func() arrow.RecordBatch {
			return array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 3)
		}},
		{"no columns, no rows", func() arrow.RecordBatch {
			return array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 0)
		}},
		{"every type side by side", func() arrow.RecordBatch {
			cols := make([]arrow.Array, len(writeBatchTypes))
			for i, dt := range writeBatchTypes {
				cols[i] = genArray(rng, mem, dt, 9, some)
			}
			return newRecord(nil, cols...)
		}},
		{"builder float64 result", func() arrow.RecordBatch {
			b := array.NewFloat64Builder(mem)
			defer b.Release()
			b.AppendValues([]float64{2, 0}, []bool{true, false})
			return newRecord(nil, b.NewArray())
		}},
		{"builder strings, sliced", func() arrow.RecordBatch {
			b := array.NewStringBuilder(mem)
			defer b.Release()
			b.AppendValues([]string{"a", "bc", "", "def", "g"}, []bool{true, true, false, true, true})
			a := b.NewArray()
			defer a.Release()
			return newRecord(nil, array.NewSlice(a, 1, 4))
		}},
		{"empty builders", func() arrow.RecordBatch {
			s := array.NewStringBuilder(mem)
			defer s.Release()
			f := array.NewFloat64Builder(mem)
			defer f.Release()
			l := array.NewBooleanBuilder(mem)
			defer l.Release()
			return newRecord(nil, s.NewArray(), f.NewArray(), l.NewArray())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.rec()
			defer rec.Release()
			checkFlat(t, rec, mem)
		})
	}
}

// Columns writeBatch does not cover (and malformed arrays) are left to
// arrow-go: writeBatch writes nothing, writeStream still writes what
// ipc.Writer writes.
func TestWriteBatchLeavesOthersToArrowGo(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f64 := arrow.PrimitiveTypes.Float64
	cases := []struct {
		name string
		arr  func() arrow.Array
	}{
		{"list", func() arrow.Array {
			b := array.NewListBuilder(mem, f64)
			defer b.Release()
			b.Append(true)
			b.ValueBuilder().(*array.Float64Builder).Append(1)
			return b.NewArray()
		}},
		{"struct", func() arrow.Array {
			b := array.NewStructBuilder(mem, arrow.StructOf(arrow.Field{Name: "a", Type: f64}))
			defer b.Release()
			b.Append(true)
			b.FieldBuilder(0).(*array.Float64Builder).Append(1)
			return b.NewArray()
		}},
		{"fixed_size_binary", func() arrow.Array {
			b := array.NewFixedSizeBinaryBuilder(mem, &arrow.FixedSizeBinaryType{ByteWidth: 2})
			defer b.Release()
			b.Append([]byte("ab"))
			return b.NewArray()
		}},
		{"null", func() arrow.Array { return array.NewNull(1) }},
		{"values buffer missing", func() arrow.Array { // arrow-go checks most other defects itself
			d := array.NewData(f64, 1, []*memory.Buffer{nil, nil}, nil, 0, 0)
			defer d.Release()
			return array.MakeFromData(d)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// a covered column first: nothing of it may be written either
			ok := array.NewFloat64Builder(mem)
			ok.Append(1)
			rec := newRecord(nil, ok.NewArray(), tc.arr())
			ok.Release()
			defer rec.Release()
			var b bytes.Buffer
			if writeBatch(&b, rec, nil) || b.Len() != 0 {
				t.Fatalf("writeBatch covered it, wrote %d bytes", b.Len())
			}
			if tc.name == "values buffer missing" {
				return // arrow-go's Writer sends it as it is; nothing to compare
			}
			var got bytes.Buffer
			if err := writeStream(&got, rec, mem, nil); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), writerStream(t, rec, mem)) {
				t.Error("stream differs from ipc.Writer's")
			}
		})
	}
}

// A randomized property test: records of several random columns, random
// lengths, null patterns, buffer layouts and slices (fixed seed) give the
// same bytes as arrow-go's Writer and read back equal.
func TestWriteBatchRandom(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewSource(20240613))
	nulls := []string{"none", "ones", "some", "all", "unknown"}
	bufs := []string{"exact", "pad64", "long"}
	for iter := 0; iter < 300; iter++ {
		n := rng.Intn(150)
		cols := make([]arrow.Array, 1+rng.Intn(5))
		for i := range cols {
			o := genOpts{nulls: nulls[rng.Intn(len(nulls))], bufs: bufs[rng.Intn(len(bufs))], shifted: rng.Intn(2) == 0}
			extra := rng.Intn(20)
			a := genArray(rng, mem, writeBatchTypes[rng.Intn(len(writeBatchTypes))], n+extra, o)
			off := rng.Intn(extra + 1)
			cols[i] = array.NewSlice(a, int64(off), int64(off+n))
			a.Release()
		}
		rec := newRecord(nil, cols...)
		t.Run(fmt.Sprint(iter), func(t *testing.T) { checkFlat(t, rec, mem) })
		rec.Release()
	}
}

// The batch of a small result is written without allocating.
func TestWriteBatchAllocs(t *testing.T) {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues([]float64{2, 0}, []bool{true, false})
	rec := newRecord(nil, b.NewArray())
	b.Release()
	defer rec.Release()
	var buf bytes.Buffer
	allocs := testing.AllocsPerRun(100, func() {
		buf.Reset()
		writeBatch(&buf, rec, nil)
	})
	if allocs != 0 {
		t.Errorf("writeBatch allocates %v times per record", allocs)
	}
}

// BenchmarkWriteStream compares a small result's stream written by
// writeStream (cached schema, batchwrite.go) with the cached schema plus
// arrow-go's GetRecordBatchPayload (what writeStream did before).
func BenchmarkWriteStream(b *testing.B) {
	mem := memory.DefaultAllocator
	for _, rows := range []int{1, 1000} {
		bld := array.NewFloat64Builder(mem)
		for i := 0; i < rows; i++ {
			bld.Append(float64(i))
		}
		// a schema of its own, so the schema cache finds it by pointer (an
		// equal schema elsewhere would cost an allocating Schema.Equal)
		col := bld.NewArray()
		bld.Release()
		schema := arrow.NewSchema([]arrow.Field{{Name: fmt.Sprintf("result%d", rows), Type: col.DataType(), Nullable: true}}, nil)
		rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(rows))
		col.Release()
		var buf bytes.Buffer
		b.Run(fmt.Sprintf("flat/%drows", rows), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				buf.Reset()
				if err := writeStream(&buf, rec, mem, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("arrowgo/%drows", rows), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				buf.Reset()
				buf.Write(replySchemas.message(rec.Schema(), mem))
				p, err := ipc.GetRecordBatchPayload(rec, ipc.WithAllocator(mem))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.WritePayload(&buf); err != nil {
					b.Fatal(err)
				}
				p.Release()
				buf.Write(endOfStream[:])
			}
		})
		rec.Release()
	}
}

// The shared memory path leaves large plain buffers out of the reply
// (detached); put back in place they give the bytes writeStream writes
// without it, and the parts from any offset are the tail of those bytes.
func TestWriteBatchDetachesLargeBuffers(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewSource(7))
	big := minDetached/8 + 3 // float64s: a buffer just over the minimum
	cases := map[string][]arrow.Array{
		"one large column": {genArray(rng, mem, arrow.PrimitiveTypes.Float64, big, genOpts{nulls: "none", bufs: "exact"})},
		"large with nulls, small, strings": {
			genArray(rng, mem, arrow.PrimitiveTypes.Float64, big, genOpts{nulls: "some", bufs: "pad64"}),
			genArray(rng, mem, arrow.PrimitiveTypes.Int8, big, genOpts{nulls: "none", bufs: "exact"}),
			genArray(rng, mem, arrow.BinaryTypes.String, big, genOpts{nulls: "some", bufs: "exact"}),
		},
		"only small buffers": {genArray(rng, mem, arrow.PrimitiveTypes.Int32, 1000, genOpts{nulls: "some", bufs: "exact"})},
	}
	for name, cols := range cases {
		t.Run(name, func(t *testing.T) {
			rec := newRecord(nil, cols...)
			defer rec.Release()
			var whole bytes.Buffer
			if err := writeStream(&whole, rec, mem, nil); err != nil {
				t.Fatal(err)
			}
			prefix := []byte("header")
			buf := bytes.NewBuffer(append([]byte(nil), prefix...))
			var d detached
			if err := writeStream(buf, rec, mem, &d); err != nil {
				t.Fatal(err)
			}
			if small := name == "only small buffers"; small != (len(d.bufs) == 0) {
				t.Fatalf("%d buffers detached", len(d.bufs))
			}
			for _, b := range d.bufs {
				if len(b.src) < minDetached {
					t.Errorf("a buffer of %d bytes was detached", len(b.src))
				}
			}
			if got := buf.Len() - len(prefix) + d.size(); got != whole.Len() {
				t.Fatalf("reply %d + detached %d bytes, want %d", buf.Len()-len(prefix), d.size(), whole.Len())
			}
			filled := d.fill(buf.Bytes())
			if !bytes.Equal(filled[len(prefix):], whole.Bytes()) || !bytes.Equal(filled[:len(prefix)], prefix) {
				t.Fatal("the filled reply differs from writeStream's bytes")
			}
			for _, from := range []int{0, len(prefix), len(prefix) + 3} {
				var joined []byte
				for _, p := range d.parts(buf.Bytes(), from) {
					joined = append(joined, p...)
				}
				if !bytes.Equal(joined, filled[from:]) {
					t.Errorf("parts from %d differ from the filled reply", from)
				}
			}
		})
	}
}
