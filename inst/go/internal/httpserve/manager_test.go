package httpserve

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"mangoro/internal/testcert"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncWriter lets the server goroutines and the test share a log buffer.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func newLogger(w io.Writer) *log.Logger { return log.New(w, "", 0) }

func newTestManager(t *testing.T) (*Manager, *syncWriter) {
	t.Helper()
	w := &syncWriter{}
	m := NewManager(newLogger(w))
	t.Cleanup(m.Close)
	return m, w
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestStartServesAtOnce(t *testing.T) {
	m, logs := newTestManager(t)
	root := testTree(t)
	st, err := m.Start(Config{Addr: "0", Options: Options{Dir: root, Prefix: "files"}})
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(st.Addr)
	if host != "127.0.0.1" || port == "0" {
		t.Fatalf("bound %q, want 127.0.0.1 and a real port", st.Addr)
	}
	if st.State != StateRunning || st.URL != "http://"+st.Addr+"/files/" || st.Prefix != "/files/" || st.TLS ||
		st.Message != "HTTP server started on "+st.Addr {
		t.Fatalf("status %+v", st)
	}
	// Start returned after binding, so the first request succeeds.
	if code, body := get(t, http.DefaultClient, st.URL+"hello.txt"); code != 200 || body != "hello world" {
		t.Fatalf("GET: %d %q", code, body)
	}
	if !strings.Contains(logs.String(), `GET "/files/hello.txt" 200 11B`) {
		t.Errorf("request not logged: %q", logs.String())
	}

	running := st
	running.Message = "running at " + st.Addr
	sts, err := m.Status("")
	if err != nil || len(sts) != 1 || sts[0] != running {
		t.Fatalf("Status = %+v, %v; want [%+v]", sts, err, running)
	}
	sts, err = m.Status(st.Addr)
	if err != nil || len(sts) != 1 || sts[0] != running {
		t.Fatalf("Status(%s) = %+v, %v", st.Addr, sts, err)
	}
	sts, err = m.Stop(context.Background(), st.Addr)
	if err != nil || len(sts) != 1 || sts[0].State != StateStopped || sts[0].Message != "HTTP server stopped" {
		t.Fatalf("Stop = %+v, %v", sts, err)
	}
	if _, err := http.Get(st.URL + "hello.txt"); err == nil {
		t.Error("server still answers after Stop")
	}
	sts, _ = m.Status("")
	if len(sts) != 1 || sts[0].State != StateStopped || sts[0].Message != "stopped" || sts[0].Addr != "" {
		t.Fatalf("Status after stop = %+v", sts)
	}
}

func TestSeveralServers(t *testing.T) {
	m, _ := newTestManager(t)
	root := testTree(t)
	a, err := m.Start(Config{Addr: ":0", Options: Options{Dir: root}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Start(Config{Addr: "127.0.0.1:0", Options: Options{Dir: filepath.Join(root, "sub")}, Silent: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(Config{Addr: a.Addr, Options: Options{Dir: root}}); !errors.Is(err, ErrAlreadyRunning) ||
		!strings.Contains(err.Error(), "already running at "+a.URL) {
		t.Fatalf("second start on %s: %v, want ErrAlreadyRunning", a.Addr, err)
	}
	_, port, _ := net.SplitHostPort(a.Addr)
	if _, err := m.Start(Config{Addr: port, Options: Options{Dir: root}}); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("start on bare port %s: %v, want ErrAlreadyRunning", port, err)
	}
	sts, _ := m.Status("")
	if len(sts) != 2 {
		t.Fatalf("Status = %+v, want two servers", sts)
	}
	if code, body := get(t, http.DefaultClient, b.URL+"file.json"); code != 200 || body != `{"a":1}` {
		t.Fatalf("GET b: %d %q", code, body)
	}
	if _, err := m.Stop(context.Background(), port); err != nil {
		t.Fatalf("Stop by bare port: %v", err)
	}
	if _, err := m.Stop(context.Background(), a.Addr); !errors.Is(err, ErrNotRunning) ||
		!strings.Contains(err.Error(), "running: "+b.Addr) {
		t.Fatalf("Stop twice: %v, want ErrNotRunning listing %s", err, b.Addr)
	}
	sts, err = m.Stop(context.Background(), "")
	if err != nil || len(sts) != 1 || sts[0].Addr != b.Addr {
		t.Fatalf("Stop all = %+v, %v", sts, err)
	}
	sts, err = m.Stop(context.Background(), "")
	if err != nil || len(sts) != 1 || sts[0].State != StateStopped || sts[0].Message != "no HTTP server was running" {
		t.Fatalf("Stop with none = %+v, %v", sts, err)
	}
}

func TestStartErrors(t *testing.T) {
	m, _ := newTestManager(t)
	root := testTree(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cert, key := writeTestCert(t)
	tests := []struct {
		name string
		cfg  Config
		kind error
		want string
	}{
		{"in use", Config{Addr: busy.Addr().String(), Options: Options{Dir: root}}, ErrAddrInUse, "already in use"},
		{"empty addr", Config{Options: Options{Dir: root}}, ErrBadConfig, "addr is empty"},
		{"bad port", Config{Addr: "127.0.0.1:http-nope", Options: Options{Dir: root}}, ErrBadConfig, "bad port"},
		{"port too big", Config{Addr: "70000", Options: Options{Dir: root}}, ErrBadConfig, "bad port"},
		{"bad addr", Config{Addr: "1:2:3", Options: Options{Dir: root}}, ErrBadConfig, "want \"host:port\""},
		{"missing dir", Config{Addr: "0", Options: Options{Dir: filepath.Join(root, "nope")}}, ErrBadConfig, "does not exist"},
		{"file as dir", Config{Addr: "0", Options: Options{Dir: filepath.Join(root, "hello.txt")}}, ErrBadConfig, "not a directory"},
		{"tls without cert", Config{Addr: "0", Options: Options{Dir: root}, TLS: true}, ErrBadConfig, "needs both cert and key"},
		{"missing cert", Config{Addr: "0", Options: Options{Dir: root}, TLS: true, CertFile: cert + "x", KeyFile: key},
			ErrBadConfig, "cert file"},
		{"missing key", Config{Addr: "0", Options: Options{Dir: root}, TLS: true, CertFile: cert, KeyFile: key + "x"},
			ErrBadConfig, "key file"},
		{"key mismatch", Config{Addr: "0", Options: Options{Dir: root}, TLS: true, CertFile: cert, KeyFile: cert},
			ErrBadConfig, "cannot load the TLS certificate"},
		{"cert without tls", Config{Addr: "0", Options: Options{Dir: root}, CertFile: cert, KeyFile: key},
			ErrBadConfig, "only used with tls = TRUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Start(tt.cfg)
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %v containing %q", err, tt.kind, tt.want)
			}
			if strings.HasPrefix(err.Error(), "httpserve:") {
				t.Errorf("message repeats the sentinel: %q", err)
			}
		})
	}
	if sts, _ := m.Status(""); sts[0].State != StateStopped {
		t.Errorf("a failed start left a server: %+v", sts)
	}
}

// writeTestCert writes a self-signed certificate for 127.0.0.1 and its key
// as PEM files and returns their paths.
func writeTestCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM := testcert.New(t, "127.0.0.1", net.IPv4(127, 0, 0, 1))
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLS(t *testing.T) {
	m, _ := newTestManager(t)
	certFile, keyFile := writeTestCert(t)
	st, err := m.Start(Config{Addr: "0", Options: Options{Dir: testTree(t)}, TLS: true, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.URL, "https://") || !st.TLS {
		t.Fatalf("status %+v", st)
	}
	pemBytes, _ := os.ReadFile(certFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	client := func(maxVersion uint16) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: maxVersion}}}
	}
	if code, body := get(t, client(0), st.URL+"hello.txt"); code != 200 || body != "hello world" {
		t.Fatalf("GET over TLS: %d %q", code, body)
	}
	if _, err := client(tls.VersionTLS11).Get(st.URL + "hello.txt"); err == nil {
		t.Error("a TLS 1.1 client was accepted")
	}
	if _, err := http.Get(st.URL + "hello.txt"); err == nil {
		t.Error("a client that does not trust the certificate was accepted")
	}
	// Plain HTTP on the TLS port gets net/http's 400, never a file.
	if resp, err := http.Get(strings.Replace(st.URL, "https:", "http:", 1) + "hello.txt"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS port: status %d, want 400", resp.StatusCode)
		}
	}
}

// bigFile writes n bytes under root and returns its name.
func bigFile(t *testing.T, root string, n int) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, "big.bin"), bytes.Repeat([]byte("0123456789abcdef"), n/16), 0o644); err != nil {
		t.Fatal(err)
	}
	return "big.bin"
}

// startDownload starts a GET of a large file and reads its first bytes, so
// the response is in flight when it returns.
func startDownload(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestStopLetsDownloadsFinish(t *testing.T) {
	m, _ := newTestManager(t)
	root := testTree(t)
	const size = 32 << 20 // far more than the socket buffers hold
	name := bigFile(t, root, size)
	st, err := m.Start(Config{Addr: "0", Options: Options{Dir: root}, Silent: true})
	if err != nil {
		t.Fatal(err)
	}
	resp := startDownload(t, st.URL+name)
	defer resp.Body.Close()
	stopped := make(chan []Status, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sts, _ := m.Stop(ctx, "")
		stopped <- sts
	}()
	rest, err := io.Copy(io.Discard, resp.Body)
	if err != nil || rest != size-1024 {
		t.Fatalf("download cut short: %d more bytes, %v", rest, err)
	}
	sts := <-stopped
	if len(sts) != 1 || sts[0].Message != "HTTP server stopped" {
		t.Fatalf("Stop = %+v", sts)
	}
}

func TestStopGraceEnds(t *testing.T) {
	m, _ := newTestManager(t)
	root := testTree(t)
	const size = 32 << 20
	name := bigFile(t, root, size)
	st, err := m.Start(Config{Addr: "0", Options: Options{Dir: root}, Silent: true})
	if err != nil {
		t.Fatal(err)
	}
	resp := startDownload(t, st.URL+name)
	defer resp.Body.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace at all
	sts, err := m.Stop(ctx, st.Addr)
	if err != nil || !strings.Contains(sts[0].Message, "open connections were closed") {
		t.Fatalf("Stop = %+v, %v", sts, err)
	}
	if n, err := io.Copy(io.Discard, resp.Body); err == nil && n == size-1024 {
		t.Fatal("the download completed although the grace period was zero")
	}
}

func TestNormalizeAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"8080", "127.0.0.1:8080"},
		{":8080", "127.0.0.1:8080"},
		{" 0 ", "127.0.0.1:0"},
		{"0.0.0.0:80", "0.0.0.0:80"},
		{"localhost:0", "localhost:0"},
		{"[::1]:0", "[::1]:0"},
		{"::1", ""},
		{"", ""},
		{"host:", ""},
		{"65536", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeAddr(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("NormalizeAddr(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestDefaultsByAddress: listing and dotfiles are on by default for a
// loopback address (as net/http's FileServer) and off for any other;
// On and Off override either way, and a symbolic link leaving the root is
// refused whatever they are. The unspecified address is only reached
// through 127.0.0.1 here.
func TestDefaultsByAddress(t *testing.T) {
	root := testTree(t)
	tests := []struct {
		name              string
		addr              string
		listing, dotfiles Switch
		wantList, wantDot int
	}{
		{"loopback default", "127.0.0.1:0", Auto, Auto, 200, 200},
		{"bare port default", "0", Auto, Auto, 200, 200},
		{"loopback off", "127.0.0.1:0", Off, Off, 403, 404},
		{"loopback mixed", "127.0.0.1:0", Off, On, 403, 200},
		{"unspecified default", "0.0.0.0:0", Auto, Auto, 403, 404},
		{"unspecified on", "0.0.0.0:0", On, On, 200, 200},
		{"unspecified listing only", "0.0.0.0:0", On, Auto, 200, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestManager(t)
			st, err := m.Start(Config{Addr: tt.addr, Options: Options{Dir: root}, Silent: true,
				Listing: tt.listing, Dotfiles: tt.dotfiles})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(st.URL, "http://127.0.0.1:") {
				t.Fatalf("URL %s, want one on 127.0.0.1", st.URL)
			}
			code, body := get(t, http.DefaultClient, st.URL+"sub/")
			if code != tt.wantList {
				t.Errorf("GET sub/: %d, want %d", code, tt.wantList)
			}
			if code == 200 && (!strings.Contains(body, `<a href="file.json">file.json</a>`) ||
				strings.Contains(body, ".hidden") != (tt.wantDot == 200)) {
				t.Errorf("listing of sub/: %q", body)
			}
			if code, _ := get(t, http.DefaultClient, st.URL+".secret"); code != tt.wantDot {
				t.Errorf("GET .secret: %d, want %d", code, tt.wantDot)
			}
			if code, body := get(t, http.DefaultClient, st.URL+"link-out"); code != 403 || strings.Contains(body, secret) {
				t.Errorf("GET link-out: %d %q, want 403", code, body)
			}
		})
	}
}

func TestSwitchResolve(t *testing.T) {
	for _, tt := range []struct {
		s              Switch
		loopback, want bool
	}{
		{Auto, true, true}, {Auto, false, false},
		{On, true, true}, {On, false, true},
		{Off, true, false}, {Off, false, false},
	} {
		if got := tt.s.resolve(tt.loopback); got != tt.want {
			t.Errorf("Switch(%d).resolve(%v) = %v, want %v", tt.s, tt.loopback, got, tt.want)
		}
	}
}
