package httpserve

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secret = "TOP SECRET"

// testTree makes root/ (served) and outside/ (never served) and returns root:
//
//	root/hello.txt        "hello world"
//	root/data.csv, app.wasm, lib.mjs, t.parquet, t.arrow
//	root/sub/file.json    (no index.html)
//	root/site/index.html
//	root/.secret, root/.git/config
//	root/link-in  -> hello.txt
//	root/link-out -> ../outside/secret.txt
//	root/dir-out  -> ../outside
//	root/sub/up   -> ..            (inside: root itself)
//	outside/secret.txt
func testTree(t testing.TB) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	files := map[string]string{
		"root/hello.txt":       "hello world",
		"root/data.csv":        "x,y\n1,2\n",
		"root/app.wasm":        "\x00asm\x01\x00\x00\x00",
		"root/lib.mjs":         "export const x = 1;\n",
		"root/t.parquet":       "PAR1",
		"root/t.arrow":         "ARROW1",
		"root/sub/file.json":   `{"a":1}`,
		"root/sub/.hidden":     "hidden",
		"root/site/index.html": "<p>site</p>",
		"root/.secret":         secret,
		"root/.git/config":     secret,
		"outside/secret.txt":   secret,
	}
	for name, body := range files {
		p := filepath.Join(base, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"root/link-in":  "hello.txt",
		"root/link-out": filepath.Join("..", "outside", "secret.txt"),
		"root/dir-out":  filepath.Join("..", "outside"),
		"root/sub/up":   "..",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(base, filepath.FromSlash(name))); err != nil {
			t.Skipf("symbolic links unavailable: %v", err)
		}
	}
	return root
}

// rawRequest sends the request line exactly as written, as an attacker
// would, without any client normalising the path.
func rawRequest(t *testing.T, h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: example.test\r\n")
	for k, v := range header {
		b.WriteString(k + ": " + v + "\r\n")
	}
	b.WriteString("\r\n")
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
	if err != nil {
		t.Fatalf("ReadRequest(%q): %v", target, err)
	}
	req.RemoteAddr = "192.0.2.1:1234"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func newTestHandler(t *testing.T, opts Options) http.Handler {
	t.Helper()
	h, err := NewHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestTraversalIsRefused(t *testing.T) {
	root := testTree(t)
	for _, opts := range []Options{
		{Dir: root},
		{Dir: root, Listing: true, CORS: true},
		{Dir: root, Prefix: "/data/"},
	} {
		h := newTestHandler(t, opts)
		pre := strings.TrimSuffix(opts.Prefix, "/")
		tests := []struct {
			target string
			code   int
		}{
			{"/../outside/secret.txt", 400},
			{"/sub/../../outside/secret.txt", 400},
			{"/%2e%2e/outside/secret.txt", 400},
			{"/%2E%2E/outside/secret.txt", 400},
			{"/.%2e/outside/secret.txt", 400},
			{"/sub/%2e%2e/%2e%2e/outside/secret.txt", 400},
			{"/..%2foutside%2fsecret.txt", 400},
			{"/sub%2F..%2F..%2Foutside%2Fsecret.txt", 400},
			{"/..\\outside\\secret.txt", 400},
			{"/..%5coutside%5csecret.txt", 400},
			{"/%5c..%5c..%5coutside%5csecret.txt", 400},
			{"//etc/passwd", 400},
			{"/sub//file.json", 400},
			{"/hello.txt%00.csv", 400},
			{"/%00", 400},
			{"/./hello.txt", 400},
			{"/%2e/hello.txt", 400},
			{"/..", 400},
			{"/sub/..", 400},
			{"/link-out", 403},
			{"/dir-out/secret.txt", 403},
			{"/dir-out/", 403},
			{"/sub/up/link-out", 403},
			{"/.secret", 404},
			{"/%2esecret", 404},
			{"/.git/config", 404},
			{"/sub/.hidden", 404},
			{"/nope.txt", 404},
			{"/hello.txt/x", 404},
			{"/hello.txt/", 404},
		}
		for _, tt := range tests {
			target := tt.target
			if pre != "" && strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "//") {
				target = pre + target
			}
			for _, method := range []string{"GET", "HEAD"} {
				t.Run(opts.Prefix+" "+method+" "+target, func(t *testing.T) {
					w := rawRequest(t, h, method, target, nil)
					if w.Code != tt.code {
						t.Errorf("status %d, want %d (body %q)", w.Code, tt.code, w.Body.String())
					}
					if strings.Contains(w.Body.String(), secret) {
						t.Errorf("secret leaked: %q", w.Body.String())
					}
				})
			}
		}
	}
}

func TestAbsoluteFormTarget(t *testing.T) {
	h := newTestHandler(t, Options{Dir: testTree(t)})
	for _, target := range []string{
		"http://example.test/../outside/secret.txt",
		"http://example.test/%2e%2e/outside/secret.txt",
	} {
		if w := rawRequest(t, h, "GET", target, nil); w.Code != 400 {
			t.Errorf("%s: status %d, want 400", target, w.Code)
		}
	}
}

func TestServing(t *testing.T) {
	root := testTree(t)
	plain := newTestHandler(t, Options{Dir: root})
	listing := newTestHandler(t, Options{Dir: root, Listing: true})
	dotfiles := newTestHandler(t, Options{Dir: root, Dotfiles: true})
	prefixed := newTestHandler(t, Options{Dir: root, Prefix: "data"})
	tests := []struct {
		name    string
		h       http.Handler
		method  string
		target  string
		header  map[string]string
		code    int
		body    string            // exact body when not ""
		headers map[string]string // exact header values
	}{
		{"get", plain, "GET", "/hello.txt", nil, 200, "hello world",
			map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "11", "Accept-Ranges": "bytes",
				"X-Content-Type-Options": "nosniff", "Access-Control-Allow-Origin": ""}},
		{"head", plain, "HEAD", "/hello.txt", nil, 200, "", map[string]string{"Content-Length": "11"}},
		{"range", plain, "GET", "/hello.txt", map[string]string{"Range": "bytes=0-4"}, 206, "hello",
			map[string]string{"Content-Range": "bytes 0-4/11", "Content-Length": "5"}},
		{"suffix range", plain, "GET", "/hello.txt", map[string]string{"Range": "bytes=-5"}, 206, "world",
			map[string]string{"Content-Range": "bytes 6-10/11"}},
		{"unsatisfiable range", plain, "GET", "/hello.txt", map[string]string{"Range": "bytes=100-200"}, 416, "",
			map[string]string{"Content-Range": "bytes */11"}},
		{"query ignored", plain, "GET", "/hello.txt?v=1", nil, 200, "hello world", nil},
		{"encoded name", plain, "GET", "/hell%6F.txt", nil, 200, "hello world", nil},
		{"csv", plain, "GET", "/data.csv", nil, 200, "x,y\n1,2\n", map[string]string{"Content-Type": "text/csv; charset=utf-8"}},
		{"wasm", plain, "GET", "/app.wasm", nil, 200, "", map[string]string{"Content-Type": "application/wasm"}},
		{"mjs", plain, "GET", "/lib.mjs", nil, 200, "", map[string]string{"Content-Type": "text/javascript; charset=utf-8"}},
		{"json", plain, "GET", "/sub/file.json", nil, 200, `{"a":1}`, map[string]string{"Content-Type": "application/json"}},
		{"parquet", plain, "GET", "/t.parquet", nil, 200, "", map[string]string{"Content-Type": "application/vnd.apache.parquet"}},
		{"arrow", plain, "GET", "/t.arrow", nil, 200, "", map[string]string{"Content-Type": "application/vnd.apache.arrow.file"}},
		{"symlink inside", plain, "GET", "/link-in", nil, 200, "hello world", nil},
		{"symlink to root", plain, "GET", "/sub/up/hello.txt", nil, 200, "hello world", nil},
		{"dir redirect", plain, "GET", "/sub?x=1", nil, 301, "", map[string]string{"Location": "/sub/?x=1"}},
		{"no listing", plain, "GET", "/sub/", nil, 403, "", nil},
		{"no listing at root", plain, "GET", "/", nil, 403, "", nil},
		{"index", plain, "GET", "/site/", nil, 200, "<p>site</p>", map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{"post", plain, "POST", "/hello.txt", nil, 405, "", map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{"delete", plain, "DELETE", "/hello.txt", nil, 405, "", nil},
		{"options", plain, "OPTIONS", "/hello.txt", nil, 204, "",
			map[string]string{"Allow": "GET, HEAD, OPTIONS", "Access-Control-Allow-Methods": ""}},
		{"dotfile allowed", dotfiles, "GET", "/.secret", nil, 200, secret, nil},
		{"dotfile symlink still checked", dotfiles, "GET", "/link-out", nil, 403, "", nil},
		{"prefix", prefixed, "GET", "/data/hello.txt", nil, 200, "hello world", nil},
		{"outside prefix", prefixed, "GET", "/hello.txt", nil, 404, "", nil},
		{"prefix redirect", prefixed, "GET", "/data", nil, 301, "", map[string]string{"Location": "/data/"}},
		{"prefix lookalike", prefixed, "GET", "/database/hello.txt", nil, 404, "", nil},
		{"listing", listing, "GET", "/sub/", nil, 200, "", map[string]string{"Content-Type": "text/html; charset=utf-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := rawRequest(t, tt.h, tt.method, tt.target, tt.header)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d (body %q)", w.Code, tt.code, w.Body.String())
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body %q, want %q", w.Body.String(), tt.body)
			}
			if tt.method == "HEAD" && w.Body.Len() != 0 {
				t.Errorf("HEAD sent a body: %q", w.Body.String())
			}
			for k, v := range tt.headers {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestListing(t *testing.T) {
	root := testTree(t)
	if err := os.WriteFile(filepath.Join(root, "sub", "<b>&x.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := rawRequest(t, newTestHandler(t, Options{Dir: root, Listing: true}), "GET", "/sub/", nil)
	body := w.Body.String()
	const head = "<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n"
	if !strings.HasPrefix(body, head) || !strings.HasSuffix(body, "</pre>\n") {
		t.Errorf("listing does not look like net/http's:\n%s", body)
	}
	for _, want := range []string{`href="file.json"`, `href="up/"`, `href="%3Cb%3E&amp;x.txt"`, "&lt;b&gt;&amp;x.txt"} {
		if !strings.Contains(body, want) {
			t.Errorf("listing lacks %s:\n%s", want, body)
		}
	}
	for _, bad := range []string{".hidden", "<b>"} {
		if strings.Contains(body, bad) {
			t.Errorf("listing shows %q:\n%s", bad, body)
		}
	}
}

func TestCrossOriginHeaders(t *testing.T) {
	root := testTree(t)
	tests := []struct {
		name    string
		opts    Options
		method  string
		target  string
		headers map[string]string
	}{
		{"cors get", Options{Dir: root, CORS: true}, "GET", "/hello.txt", map[string]string{
			"Access-Control-Allow-Origin":   "*",
			"Access-Control-Expose-Headers": "Accept-Ranges, Content-Length, Content-Range, Content-Type, Last-Modified",
			"Cross-Origin-Resource-Policy":  "cross-origin",
			"Cross-Origin-Opener-Policy":    "",
		}},
		{"cors on errors too", Options{Dir: root, CORS: true}, "GET", "/nope", map[string]string{
			"Access-Control-Allow-Origin": "*",
		}},
		{"preflight", Options{Dir: root, CORS: true}, "OPTIONS", "/hello.txt", map[string]string{
			"Access-Control-Allow-Origin":  "*",
			"Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
			"Access-Control-Allow-Headers": allowHeaders,
			"Access-Control-Max-Age":       "86400",
		}},
		{"coop", Options{Dir: root, COOP: true}, "GET", "/hello.txt", map[string]string{
			"Cross-Origin-Opener-Policy":   "same-origin",
			"Cross-Origin-Embedder-Policy": "require-corp",
			"Access-Control-Allow-Origin":  "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := rawRequest(t, newTestHandler(t, tt.opts), tt.method, tt.target,
				map[string]string{"Origin": "https://other.test", "Access-Control-Request-Method": "GET",
					"Access-Control-Request-Headers": "range"})
			for k, v := range tt.headers {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestNewHandlerErrors(t *testing.T) {
	root := testTree(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"missing dir", Options{Dir: filepath.Join(root, "nope")}, "does not exist"},
		{"file as dir", Options{Dir: filepath.Join(root, "hello.txt")}, "is not a directory"},
		{"dot prefix", Options{Dir: root, Prefix: "/a/../b"}, "prefix"},
		{"empty segment prefix", Options{Dir: root, Prefix: "/a//b/"}, "prefix"},
		{"backslash prefix", Options{Dir: root, Prefix: "/a\\b/"}, "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHandler(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLogRequests(t *testing.T) {
	root := testTree(t)
	var buf strings.Builder
	h := LogRequests(newTestHandler(t, Options{Dir: root}), newLogger(&buf))
	rawRequest(t, h, "GET", "/hello.txt", map[string]string{"Range": "bytes=0-1"})
	rawRequest(t, h, "GET", "/a%0Ab", nil)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %q", buf.String())
	}
	for i, want := range []string{`GET "/hello.txt" 206 2B `, `GET "/a%0Ab" 404 `} {
		if !strings.Contains(lines[i], want) || !strings.HasSuffix(lines[i], " 192.0.2.1:1234") {
			t.Errorf("log line %q, want %q ... 192.0.2.1:1234", lines[i], want)
		}
	}
}

func TestContentTypeFallsBack(t *testing.T) {
	if got := ContentType("x.WASM"); got != "application/wasm" {
		t.Errorf("ContentType(x.WASM) = %q", got)
	}
	if got := ContentType("noext"); got != "" {
		t.Errorf("ContentType(noext) = %q, want \"\" (sniffed)", got)
	}
}
