package httpserve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"mangoro/pkg/rgoipc"
)

// callArgs encodes one row of arguments (string, bool or float64 values) as
// an Arrow IPC stream, as R sends them.
func callArgs(t *testing.T, mem memory.Allocator, names []string, vals []any) []byte {
	t.Helper()
	fields := make([]arrow.Field, len(names))
	cols := make([]arrow.Array, len(names))
	for i, v := range vals {
		var b array.Builder
		switch v := v.(type) {
		case string:
			sb := array.NewStringBuilder(mem)
			sb.Append(v)
			b = sb
		case bool:
			bb := array.NewBooleanBuilder(mem)
			bb.Append(v)
			b = bb
		case float64:
			fb := array.NewFloat64Builder(mem)
			fb.Append(v)
			b = fb
		default:
			t.Fatalf("unsupported %T", v)
		}
		cols[i] = b.NewArray()
		b.Release()
		fields[i] = arrow.Field{Name: names[i], Type: cols[i].DataType(), Nullable: true}
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, 1)
	defer rec.Release()
	for _, c := range cols {
		c.Release()
	}
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// call runs one call through the rgoipc server and returns the rows as
// maps (column -> value, nil for NA), or the error message.
func call(t *testing.T, srv *rgoipc.Server, fn string, kv ...any) ([]map[string]any, string) {
	t.Helper()
	var names []string
	var vals []any
	for i := 0; i < len(kv); i += 2 {
		names = append(names, kv[i].(string))
		vals = append(vals, kv[i+1])
	}
	req := rgoipc.Envelope{Type: rgoipc.MsgCall, Name: fn, Payload: callArgs(t, memory.DefaultAllocator, names, vals)}
	env, err := rgoipc.DecodeEnvelope(srv.HandleMessage(context.Background(), req.Encode(nil), nil))
	if err != nil {
		t.Fatal(err)
	}
	if env.Type == rgoipc.MsgError {
		return nil, env.Error
	}
	r, err := ipc.NewReader(bytes.NewReader(env.Payload))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var rows []map[string]any
	for r.Next() {
		rec := r.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[string]any{}
			for j, f := range rec.Schema().Fields() {
				c := rec.Column(j)
				switch {
				case c.IsNull(i):
					row[f.Name] = nil
				case f.Type.ID() == arrow.STRING:
					row[f.Name] = c.(*array.String).Value(i)
				case f.Type.ID() == arrow.BOOL:
					row[f.Name] = c.(*array.Boolean).Value(i)
				}
			}
			rows = append(rows, row)
		}
	}
	return rows, ""
}

func TestRPC(t *testing.T) {
	reg := rgoipc.NewRegistry()
	m, _ := newTestManager(t)
	if err := Register(reg, m); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(reg.Names(), ","); got != "serverStatus,startServer,stopServer" {
		t.Fatalf("registered %s", got)
	}
	for _, name := range reg.Names() {
		if sig, _ := reg.Signature(name); sig.Metadata["description"] == "" {
			t.Errorf("%s has no description", name)
		}
	}
	srv := rgoipc.NewServer(reg)
	root := testTree(t)

	rows, msg := call(t, srv, "serverStatus", "addr", "")
	if msg != "" || len(rows) != 1 || rows[0]["status"] != "stopped" || rows[0]["addr"] != nil {
		t.Fatalf("status before start: %v %q", rows, msg)
	}
	rows, msg = call(t, srv, "startServer", "addr", "0", "dir", root, "cors", true, "coop", true)
	if msg != "" || len(rows) != 1 {
		t.Fatalf("startServer: %v %q", rows, msg)
	}
	st := rows[0]
	url, _ := st["url"].(string)
	if st["status"] != "ok" || st["message"] != "HTTP server started on "+st["addr"].(string) || st["prefix"] != "/" || st["tls"] != false || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("startServer row %v", st)
	}
	resp, err := http.Get(url + "hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello world" || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		resp.Header.Get("Cross-Origin-Embedder-Policy") != "require-corp" {
		t.Fatalf("GET: %q %v", body, resp.Header)
	}

	errs := []struct {
		fn   string
		kv   []any
		want string
	}{
		{"startServer", []any{"addr", st["addr"], "dir", root}, "startServer: an HTTP server is already running at " + url},
		{"startServer", []any{"addr", "0", "dir", root + "/nope"}, "does not exist"},
		{"startServer", []any{"addr", "0", "dir", root, "tls", true}, "needs both cert and key"},
		{"startServer", []any{"dir", root}, `missing argument "addr"`},
		{"stopServer", []any{"addr", "127.0.0.1:1"}, "stopServer: no HTTP server is running at 127.0.0.1:1 (running: " + st["addr"].(string) + ")"},
		{"stopServer", []any{"grace", -1.0}, "grace must be between"},
		{"serverStatus", []any{"addr", "x:y:z"}, "want \"host:port\""},
	}
	for _, tt := range errs {
		t.Run(fmt.Sprint(tt.fn, tt.kv), func(t *testing.T) {
			_, msg := call(t, srv, tt.fn, tt.kv...)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want %q", msg, tt.want)
			}
		})
	}

	rows, msg = call(t, srv, "serverStatus", "addr", st["addr"])
	if msg != "" || rows[0]["status"] != "running" || rows[0]["message"] != "running at "+st["addr"].(string) || rows[0]["url"] != url {
		t.Fatalf("status: %v %q", rows, msg)
	}
	rows, msg = call(t, srv, "stopServer", "addr", "", "grace", 1000.0)
	if msg != "" || len(rows) != 1 || rows[0]["status"] != "ok" || rows[0]["message"] != "HTTP server stopped" || rows[0]["url"] != url {
		t.Fatalf("stop: %v %q", rows, msg)
	}
	rows, _ = call(t, srv, "serverStatus", "addr", "")
	if rows[0]["status"] != "stopped" || rows[0]["message"] != "stopped" {
		t.Fatalf("status after stop: %v", rows)
	}
}
