package httpserve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"mangoro/internal/wire"
	"mangoro/pkg/rgoipc"
	"mangoro/pkg/rgoipc/rgoipctest"
)

// callArgs builds one row of arguments (string, bool or float64 values), as
// R sends them.
func callArgs(t *testing.T, mem memory.Allocator, names []string, vals []any) arrow.RecordBatch {
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
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// call runs one call through the rgoipc server and returns the rows as
// maps (column -> value, nil for NA), or the error reply.
func call(t *testing.T, srv *rgoipctest.Server, fn string, kv ...any) ([]map[string]any, *rgoipctest.Error) {
	t.Helper()
	var names []string
	var vals []any
	for i := 0; i < len(kv); i += 2 {
		names = append(names, kv[i].(string))
		vals = append(vals, kv[i+1])
	}
	args := callArgs(t, memory.DefaultAllocator, names, vals)
	defer args.Release()
	rec, err := srv.Call(fn, args)
	var rerr *rgoipctest.Error
	if errors.As(err, &rerr) {
		return nil, rerr
	} else if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	var rows []map[string]any
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
	return rows, nil
}

func TestRPC(t *testing.T) {
	reg := rgoipc.NewRegistry()
	m, _ := newTestManager(t)
	if err := Register(reg, m); err != nil {
		t.Fatal(err)
	}
	srv := rgoipctest.NewServer(reg)
	defer srv.Close()
	var manifest map[string]rgoipc.Signature
	if err := json.Unmarshal(manifestOf(t, srv), &manifest); err != nil {
		t.Fatal(err)
	}
	var names []string
	for name, sig := range manifest {
		names = append(names, name)
		if sig.Metadata["description"] == "" {
			t.Errorf("%s has no description", name)
		}
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != "serverStatus,startServer,stopServer" {
		t.Fatalf("registered %s", got)
	}
	root := testTree(t)

	rows, msg := call(t, srv, "serverStatus", "addr", "")
	if msg != nil || len(rows) != 1 || rows[0]["status"] != "stopped" || rows[0]["addr"] != nil {
		t.Fatalf("status before start: %v %q", rows, msg)
	}
	rows, msg = call(t, srv, "startServer", "addr", "0", "dir", root, "cors", true, "coop", true)
	if msg != nil || len(rows) != 1 {
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

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	errs := []struct {
		fn   string
		kv   []any
		want string
		code string
	}{
		{"startServer", []any{"addr", st["addr"], "dir", root}, "startServer: an HTTP server is already running at " + url, "already_running"},
		{"startServer", []any{"addr", busy.Addr().String(), "dir", root}, "is already in use", "addr_in_use"},
		{"startServer", []any{"addr", "0", "dir", root + "/nope"}, "does not exist", "dir"},
		{"startServer", []any{"addr", "0", "dir", root, "tls", true}, "needs both cert and key", "tls"},
		{"startServer", []any{"addr", "0", "dir", root, "cert", "c.pem"}, "only used with tls = TRUE", "tls"},
		{"startServer", []any{"dir", root}, `missing argument "addr"`, "bad_arguments"},
		{"stopServer", []any{"addr", "127.0.0.1:1"}, "stopServer: no HTTP server is running at 127.0.0.1:1 (running: " + st["addr"].(string) + ")", "not_running"},
		{"stopServer", []any{"grace", -1.0}, "grace must be between", "bad_arguments"},
		{"serverStatus", []any{"addr", "x:y:z"}, "want \"host:port\"", "addr"},
	}
	for _, tt := range errs {
		t.Run(fmt.Sprint(tt.fn, tt.kv), func(t *testing.T) {
			_, rerr := call(t, srv, tt.fn, tt.kv...)
			if rerr == nil || !strings.Contains(rerr.Message, tt.want) || rerr.Code != tt.code {
				t.Errorf("error %v, want %q with code %q", rerr, tt.want, tt.code)
			}
		})
	}

	rows, msg = call(t, srv, "serverStatus", "addr", st["addr"])
	if msg != nil || rows[0]["status"] != "running" || rows[0]["message"] != "running at "+st["addr"].(string) || rows[0]["url"] != url {
		t.Fatalf("status: %v %q", rows, msg)
	}
	rows, msg = call(t, srv, "stopServer", "addr", "", "grace", 1000.0)
	if msg != nil || len(rows) != 1 || rows[0]["status"] != "ok" || rows[0]["message"] != "HTTP server stopped" || rows[0]["url"] != url {
		t.Fatalf("stop: %v %q", rows, msg)
	}
	rows, _ = call(t, srv, "serverStatus", "addr", "")
	if rows[0]["status"] != "stopped" || rows[0]["message"] != "stopped" {
		t.Fatalf("status after stop: %v", rows)
	}
}

// manifestOf asks srv for its manifest, as R's mangoro_functions() does.
func manifestOf(t *testing.T, srv *rgoipctest.Server) []byte {
	t.Helper()
	b, err := srv.Do((&wire.Envelope{Type: wire.MsgManifest}).Encode(nil))
	if err != nil {
		t.Fatal(err)
	}
	env, err := wire.Decode(b)
	if err != nil || env.Type != wire.MsgManifest {
		t.Fatalf("manifest reply %v: %v", env.Type, err)
	}
	return env.Payload
}
