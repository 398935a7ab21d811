package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mangoro/internal/testcert"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/req"
	"mangoro/internal/wire"
	"mangoro/pkg/rgoipc"
	"mangoro/pkg/rgoipc/rgoipctest"
)

// The test binary doubles as the server: with this variable set, TestMain
// runs main() instead of the tests, so the process tests exercise the real
// program without building it separately.
const runMainEnv = "RPC_EXAMPLE_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// server is a child process running main().
type server struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *bytes.Buffer
	done   chan error
}

// spawn starts main() in a child process with env added to the test's
// environment. The caller starts the goroutine that reads stdout and
// sends cmd.Wait()'s result on done.
func spawn(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), append([]string{runMainEnv + "=1"}, env...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
	})
	return s
}

func startProcess(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	s := spawn(t, env, args...)
	go func() {
		_, _ = io.Copy(io.Discard, s.stdout)
		s.done <- s.cmd.Wait()
	}()
	return s
}

// exitCode waits (up to a deadline) for the process to end.
func (s *server) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // for Cleanup
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("process did not exit; stderr:\n%s", s.stderr)
		return -1
	}
}

// readyProcess starts a process with MANGORO_READY=stdout and returns its
// first stdout line.
func readyProcess(t *testing.T, env []string, url string) (*server, string) {
	t.Helper()
	s := spawn(t, append([]string{"MANGORO_READY=stdout"}, env...), url)
	lines := make(chan string, 1)
	go func() {
		line, _ := s.stdout.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, s.stdout)
		s.done <- s.cmd.Wait()
	}()
	select {
	case line := <-lines:
		return s, line
	case <-time.After(30 * time.Second):
		t.Fatal("no ready line")
		return nil, ""
	}
}

func TestReadyLineAndSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "x.sock")
			url := "ipc://" + sock
			s, line := readyProcess(t, nil, url)
			if line != "mangoro-ready "+url+"\n" {
				t.Fatalf("ready line %q", line)
			}
			if got := callAdd(t, url); got != "[2 (null)]" {
				t.Errorf("add = %s", got)
			}
			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := s.exitCode(t); code != 0 {
				t.Errorf("exit code %d after %v; stderr:\n%s", code, sig, s.stderr)
			}
			if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("socket file left behind: %v", err)
			}
			if !strings.Contains(s.stderr.String(), "[rpc-example.test] ") {
				t.Errorf("log lines lack the program prefix:\n%s", s.stderr)
			}
		})
	}
}

// TestParentStdin: closing stdin (what happens when R dies, even by
// kill -9) shuts the server down.
func TestParentStdin(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "p.sock")
	s, line := readyProcess(t, []string{"MANGORO_PARENT=stdin"}, "ipc://"+sock)
	if !strings.HasPrefix(line, "mangoro-ready ") {
		t.Fatalf("ready line %q", line)
	}
	if err := s.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if code := s.exitCode(t); code != 0 {
		t.Errorf("exit code %d; stderr:\n%s", code, s.stderr)
	}
	if !strings.Contains(s.stderr.String(), "standard input closed") {
		t.Errorf("stderr does not say why it stopped:\n%s", s.stderr)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left behind: %v", err)
	}
}

func TestStartupFailures(t *testing.T) {
	busy := "ipc://" + filepath.Join(t.TempDir(), "busy.sock")
	readyProcess(t, nil, busy)
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"no url", nil, nil, 2, "usage: rpc-example.test <url>"},
		{"bad scheme", nil, []string{"nope://x"}, 1, `rgoipc: listen "nope://x"`},
		{"address in use", nil, []string{busy}, 1, "address in use"},
		{"bad max size", []string{"MANGORO_MAX_MESSAGE_SIZE=lots"}, []string{"inproc://x"}, 2, "MANGORO_MAX_MESSAGE_SIZE"},
		{"tls without a certificate", nil, []string{"tls+tcp://127.0.0.1:0"}, 1, "set MANGORO_TLS_CERT and MANGORO_TLS_KEY"},
		{"tls with a bad certificate", []string{"MANGORO_TLS_CERT=nonsense", "MANGORO_TLS_KEY=nonsense"}, []string{"tls+tcp://127.0.0.1:0"}, 1, "rgoipc: tls: certificate and key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startProcess(t, tc.env, tc.args...)
			if code := s.exitCode(t); code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, s.stderr)
			}
			if !strings.Contains(s.stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, s.stderr)
			}
		})
	}
}

func TestMaxMessageSizeEnv(t *testing.T) {
	url := "ipc://" + filepath.Join(t.TempDir(), "m.sock")
	readyProcess(t, []string{"MANGORO_MAX_MESSAGE_SIZE=65536"}, url)
	env := roundTrip(t, url, (&wire.Envelope{Type: wire.MsgInfo}).Encode(nil))
	if !strings.Contains(string(env.Payload), `"max_message_size":65536`) {
		t.Errorf("info = %s", env.Payload)
	}
}

// roundTrip sends one message to url on a fresh socket.
func roundTrip(t *testing.T, url string, msg []byte) wire.Envelope {
	t.Helper()
	sock, err := req.NewSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	if err := sock.Dial(url); err != nil {
		t.Fatal(err)
	}
	if err := sock.SetOption(mangos.OptionRecvDeadline, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := sock.Send(msg); err != nil {
		t.Fatal(err)
	}
	b, err := sock.Recv()
	if err != nil {
		t.Fatal(err)
	}
	env, err := wire.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func callAdd(t *testing.T, url string) string {
	t.Helper()
	mem := memory.DefaultAllocator
	env := roundTrip(t, url, callMsg(t, "add", rec(t, mem, "x", []float64{1.5, 0}, []bool{true, false}, "y", []float64{0.5, 1}, nil)))
	return resultString(t, env)
}

// rec builds a record from name, values, validity triples of float64.
func rec(t *testing.T, mem memory.Allocator, spec ...any) arrow.RecordBatch {
	t.Helper()
	var fields []arrow.Field
	var cols []arrow.Array
	for i := 0; i < len(spec); i += 3 {
		b := array.NewFloat64Builder(mem)
		valid, _ := spec[i+2].([]bool)
		b.AppendValues(spec[i+1].([]float64), valid)
		cols = append(cols, b.NewArray())
		b.Release()
		fields = append(fields, arrow.Field{Name: spec[i].(string), Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(cols[0].Len()))
}

func callMsg(t *testing.T, fn string, r arrow.RecordBatch) []byte {
	t.Helper()
	var buf bytes.Buffer
	if r != nil {
		w := ipc.NewWriter(&buf, ipc.WithSchema(r.Schema()))
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return (&wire.Envelope{Type: wire.MsgCall, Name: fn, Payload: buf.Bytes()}).Encode(nil)
}

// resultString formats every column of a result reply, or the error.
func resultString(t *testing.T, env wire.Envelope) string {
	t.Helper()
	if env.Type == wire.MsgError {
		return "error: " + env.Error
	}
	r, err := ipc.NewReader(bytes.NewReader(env.Payload))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if !r.Next() {
		t.Fatalf("no batch: %v", r.Err())
	}
	var parts []string
	for i, c := range r.RecordBatch().Columns() {
		if r.RecordBatch().NumCols() == 1 {
			parts = append(parts, fmt.Sprint(c))
		} else {
			parts = append(parts, r.RecordBatch().ColumnName(i)+"="+fmt.Sprint(c))
		}
	}
	return strings.Join(parts, " ")
}

// TestFunctions calls every registered function in process.
func TestFunctions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	reg := rgoipc.NewRegistry()
	if err := register(reg); err != nil {
		t.Fatal(err)
	}
	srv := rgoipctest.NewServer(reg, rgoipc.WithAllocator(mem))
	defer srv.Close()
	d := memory.DefaultAllocator

	person := func(age arrow.Array) arrow.RecordBatch {
		nb := array.NewStringBuilder(d)
		nb.AppendValues([]string{"ann", "bob"}, nil)
		names := nb.NewArray()
		st, err := array.NewStructArray([]arrow.Array{names, age}, []string{"name", "age"})
		if err != nil {
			t.Fatal(err)
		}
		return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "person", Type: st.DataType(), Nullable: true}}, nil), []arrow.Array{st}, 2)
	}
	intAge := func() arrow.Array {
		b := array.NewInt32Builder(d)
		b.AppendValues([]int32{30, 40}, nil)
		return b.NewArray()
	}
	strRec := func() arrow.RecordBatch {
		b := array.NewStringBuilder(d)
		b.AppendValues([]string{"a", "", "ü"}, []bool{true, false, true})
		return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil), []arrow.Array{b.NewArray()}, 3)
	}
	tests := []struct {
		name string
		fn   string
		args arrow.RecordBatch
		want string
	}{
		{"add", "add", rec(t, d, "x", []float64{1.5, 0}, []bool{true, false}, "y", []float64{0.5, 1}, nil), "[2 (null)]"},
		{"echoString", "echoString", strRec(), `["a" (null) "ü"]`},
		{"echoStruct int age", "echoStruct", person(intAge()), `{["ann" "bob"] [30 40]}`},
		{"echoStruct double age", "echoStruct", person(rec(t, d, "a", []float64{30.5, 40}, nil).Column(0)), `{["ann" "bob"] [30.5 40]}`},
		{"transposeMatrix", "transposeMatrix", rec(t, d, "V1", []float64{1, 2}, nil, "V2", []float64{3, 4}, []bool{true, false}, "V3", []float64{5, 6}, nil),
			"V1=[1 3 5] V2=[2 (null) 6]"},
		{"sleep", "sleep", rec(t, d, "ms", []float64{1}, nil), "[1]"},
		{"fail default", "fail", nil, "error: fail: requested failure"},
		{"crash", "crash", nil, "error: crash: panic: requested panic"},
		{"sleep takes one value", "sleep", rec(t, d, "ms", []float64{1, 2}, nil), `error: sleep: argument "ms": takes one value (a scalar Go parameter), got 2 values that differ (row 2)`},
		{"echo", "echo", rec(t, d, "a", []float64{1}, nil, "b", []float64{2}, nil), "a=[1] b=[2]"},
		{"scaleInt64 whole doubles", "scaleInt64", rec(t, d, "x", []float64{1, 0}, []bool{true, false}, "k", []float64{3, 3}, nil), "[3 (null)]"},
		{"scaleInt64 fraction", "scaleInt64", rec(t, d, "x", []float64{1, 2.5}, nil, "k", []float64{3, 3}, nil), `error: scaleInt64: argument "x": element 2 is 2.5, not a whole number`},
		{"spin", "spin", rec(t, d, "n", []float64{3}, nil), fmt.Sprintf("[%v]", spin(3))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := srv.Do(callMsg(t, tc.fn, tc.args))
			if err != nil {
				t.Fatal(err)
			}
			env, err := wire.Decode(reply)
			if err != nil {
				t.Fatal(err)
			}
			if got := resultString(t, env); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sleep(ctx, 60000); err == nil || err.Error() != "interrupted: context canceled" {
		t.Errorf("sleep with a cancelled context: %v", err)
	}

	reply, err := srv.Do((&wire.Envelope{Type: wire.MsgManifest}).Encode(nil))
	if err != nil {
		t.Fatal(err)
	}
	env, err := wire.Decode(reply)
	if err != nil {
		t.Fatal(err)
	}
	manifest := env.Payload
	var sigs map[string]rgoipc.Signature
	if err := json.Unmarshal(manifest, &sigs); err != nil {
		t.Fatal(err)
	}
	for name, sig := range sigs {
		if sig.Metadata["description"] == "" {
			t.Errorf("%s has no description", name)
		}
	}
	if !strings.Contains(string(manifest), `"variadic":"float64"`) {
		t.Errorf("transposeMatrix is not marked variadic in the manifest")
	}
}

// TestArgumentAndResultNames pins the names the prototype's README uses:
// echoString(s) and add(x, y) answer a column "result", echoStruct(person)
// answers its struct column as "person".
func TestArgumentAndResultNames(t *testing.T) {
	reg := rgoipc.NewRegistry()
	if err := register(reg); err != nil {
		t.Fatal(err)
	}
	srv := rgoipctest.NewServer(reg)
	defer srv.Close()
	mem := memory.DefaultAllocator
	b := array.NewStringBuilder(mem)
	b.AppendValues([]string{"a"}, nil)
	s := b.NewArray()
	defer s.Release()
	st, err := array.NewStructArray([]arrow.Array{s, s}, []string{"name", "age"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	calls := []struct {
		fn, want string
		args     arrow.RecordBatch
	}{
		{"add", "result", rec(t, mem, "x", []float64{1}, nil, "y", []float64{2}, nil)},
		{"echoString", "result", array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "s", Type: s.DataType(), Nullable: true}}, nil), []arrow.Array{s}, 1)},
		{"echoStruct", "person", array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "person", Type: st.DataType(), Nullable: true}}, nil), []arrow.Array{st}, 1)},
	}
	for _, c := range calls {
		t.Run(c.fn, func(t *testing.T) {
			out, err := srv.Call(c.fn, c.args)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Release()
			if got := out.ColumnName(0); got != c.want {
				t.Errorf("%s: result column %q, want %q", c.fn, got, c.want)
			}
		})
	}
}

// TestTransports: Main serves tls+tcp:// and wss:// with the certificate
// from MANGORO_TLS_CERT and MANGORO_TLS_KEY (PEM text, as R passes it),
// and warns that tcp:// and ws:// authenticate nobody.
func TestTransports(t *testing.T) {
	certPEM, keyPEM := testcert.New(t, "127.0.0.1", net.ParseIP("127.0.0.1"))
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		t.Fatal("bad test certificate")
	}
	tlsEnv := []string{"MANGORO_TLS_CERT=" + string(certPEM), "MANGORO_TLS_KEY=" + string(keyPEM)}
	tests := []struct {
		url     string
		env     []string
		tls     bool
		warning bool
	}{
		{"tls+tcp://127.0.0.1:0", tlsEnv, true, false},
		{"wss://127.0.0.1:0/rgoipc", tlsEnv, true, false},
		{"tcp://127.0.0.1:0", nil, false, true},
		{"ws://127.0.0.1:0/rgoipc", nil, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			s, line := readyProcess(t, tc.env, tc.url)
			url := strings.TrimSpace(strings.TrimPrefix(line, "mangoro-ready "))
			if strings.Contains(url, ":0/") || strings.HasSuffix(url, ":0") {
				t.Fatalf("ready line %q lacks the bound port", line)
			}
			var opts map[string]any
			if tc.tls {
				opts = map[string]any{mangos.OptionTLSConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
			}
			sock, err := req.NewSocket()
			if err != nil {
				t.Fatal(err)
			}
			defer sock.Close()
			if err := sock.DialOptions(url, opts); err != nil {
				t.Fatal(err)
			}
			if err := sock.SetOption(mangos.OptionRecvDeadline, 20*time.Second); err != nil {
				t.Fatal(err)
			}
			msg := callMsg(t, "add", rec(t, memory.DefaultAllocator, "x", []float64{1.5}, nil, "y", []float64{0.5}, nil))
			if err := sock.Send(msg); err != nil {
				t.Fatal(err)
			}
			b, err := sock.Recv()
			if err != nil {
				t.Fatalf("%v; server log:\n%s", err, s.stderr)
			}
			env, err := wire.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := resultString(t, env); got != "[2]" {
				t.Errorf("add = %s", got)
			}
			if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := s.exitCode(t); code != 0 {
				t.Errorf("exit code %d; stderr:\n%s", code, s.stderr)
			}
			if got := strings.Contains(s.stderr.String(), "has no authentication"); got != tc.warning {
				t.Errorf("warning logged: %v, want %v; stderr:\n%s", got, tc.warning, s.stderr)
			}
		})
	}
}
