package httpserve

import (
	"errors"
	"fmt"
	"html"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Options says how a directory is served.
type Options struct {
	// Dir is the directory to serve. A relative path is taken from the
	// working directory when the handler is made.
	Dir string
	// Prefix is the URL path Dir appears under, "/" by default.
	Prefix string
	// CORS allows any origin to read the files, range requests included.
	CORS bool
	// COOP sends the headers that make a page cross-origin isolated.
	COOP bool
	// Listing lists directories that have no index.html (else 403).
	Listing bool
	// Dotfiles serves names starting with "." (else 404).
	Dotfiles bool
}

// contentTypes are the types served by extension, ahead of the system's
// MIME table, which often lacks or disagrees on these.
var contentTypes = map[string]string{
	".html":    "text/html; charset=utf-8",
	".htm":     "text/html; charset=utf-8",
	".css":     "text/css; charset=utf-8",
	".js":      "text/javascript; charset=utf-8",
	".mjs":     "text/javascript; charset=utf-8",
	".json":    "application/json",
	".map":     "application/json",
	".geojson": "application/geo+json",
	".wasm":    "application/wasm",
	".csv":     "text/csv; charset=utf-8",
	".tsv":     "text/tab-separated-values; charset=utf-8",
	".txt":     "text/plain; charset=utf-8",
	".md":      "text/markdown; charset=utf-8",
	".svg":     "image/svg+xml",
	".png":     "image/png",
	".jpg":     "image/jpeg",
	".jpeg":    "image/jpeg",
	".gif":     "image/gif",
	".webp":    "image/webp",
	".ico":     "image/x-icon",
	".pdf":     "application/pdf",
	".xml":     "application/xml",
	".zip":     "application/zip",
	".gz":      "application/gzip",
	".parquet": "application/vnd.apache.parquet",
	".arrow":   "application/vnd.apache.arrow.file",
	".feather": "application/vnd.apache.arrow.file",
	".arrows":  "application/vnd.apache.arrow.stream",
	".rds":     "application/octet-stream",
}

// ContentType returns the Content-Type served for a file name, or "" when
// net/http should sniff the content.
func ContentType(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	return mime.TypeByExtension(ext)
}

const (
	allowMethods  = "GET, HEAD, OPTIONS"
	allowHeaders  = "Range, If-Range, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since"
	exposeHeaders = "Accept-Ranges, Content-Length, Content-Range, Content-Type, Last-Modified"
)

type fileHandler struct {
	opts       Options
	root       string // absolute, symbolic links resolved
	prefix     string // "/" or "/a/b/"
	prefixSegs []string
}

// NewHandler returns a handler serving opts.Dir under opts.Prefix (see the
// package documentation for what it refuses). The directory must exist.
func NewHandler(opts Options) (http.Handler, error) {
	if opts.Dir == "" {
		opts.Dir = "."
	}
	abs, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("dir %q: %w", opts.Dir, err)
	}
	info, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("dir %q does not exist", abs)
	case err != nil:
		return nil, fmt.Errorf("dir %q: %w", abs, err)
	case !info.IsDir():
		return nil, fmt.Errorf("dir %q is not a directory", abs)
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("dir %q: %w", abs, err)
	}
	prefix, segs, err := normalizePrefix(opts.Prefix)
	if err != nil {
		return nil, err
	}
	opts.Dir = root
	opts.Prefix = prefix
	return &fileHandler{opts: opts, root: root, prefix: prefix, prefixSegs: segs}, nil
}

func (h *fileHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if h.opts.CORS {
		hdr.Set("Access-Control-Allow-Origin", "*")
		hdr.Set("Access-Control-Expose-Headers", exposeHeaders)
		hdr.Set("Cross-Origin-Resource-Policy", "cross-origin")
	}
	if h.opts.COOP {
		hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
		hdr.Set("Cross-Origin-Embedder-Policy", "require-corp")
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		hdr.Set("Allow", allowMethods)
		if h.opts.CORS {
			// Preflight: what a page may ask for when reading ranges.
			hdr.Set("Access-Control-Allow-Methods", allowMethods)
			hdr.Set("Access-Control-Allow-Headers", allowHeaders)
			hdr.Set("Access-Control-Max-Age", "86400")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		hdr.Set("Allow", allowMethods)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	escaped := r.URL.EscapedPath()
	segs, wantDir, perr := splitRequestPath(escaped)
	if perr != nil {
		http.Error(w, perr.reason, perr.code)
		return
	}
	rel, ok := stripPrefix(segs, h.prefixSegs)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if len(rel) == 0 && !wantDir {
		// "/data" for prefix "/data/".
		redirect(w, r, escaped+"/")
		return
	}
	if !h.opts.Dotfiles && hasDotfile(rel) {
		http.NotFound(w, r)
		return
	}
	real, perr := resolve(h.root, rel)
	if perr != nil {
		http.Error(w, perr.reason, perr.code)
		return
	}
	if !h.opts.Dotfiles && hiddenTarget(h.root, real) {
		http.NotFound(w, r) // the rule holds for what a link leads to
		return
	}
	info, err := os.Stat(real)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if info.IsDir() {
		if !wantDir {
			redirect(w, r, escaped+"/")
			return
		}
		h.serveDir(w, r, real, rel)
		return
	}
	if wantDir {
		http.NotFound(w, r) // "file.txt/"
		return
	}
	h.serveFile(w, r, real, info)
}

func (h *fileHandler) serveDir(w http.ResponseWriter, r *http.Request, dir string, rel []string) {
	index, perr := resolve(h.root, append(rel[:len(rel):len(rel)], "index.html"))
	if perr == nil && !h.opts.Dotfiles && hiddenTarget(h.root, index) {
		perr = refuse(http.StatusNotFound, "not found")
	}
	if perr == nil {
		if info, err := os.Stat(index); err == nil && info.Mode().IsRegular() {
			h.serveFile(w, r, index, info)
			return
		}
	} else if perr.code == http.StatusForbidden {
		http.Error(w, perr.reason, perr.code)
		return
	}
	if !h.opts.Listing {
		http.Error(w, "directory listing is disabled", http.StatusForbidden)
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		http.Error(w, "cannot read the directory", http.StatusForbidden)
		return
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if name, ok := h.listed(rel, e.Name()); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	// The page starts as net/http's FileServer listing does (doctype,
	// viewport, <pre>), which scripts written for the prototype read.
	var b strings.Builder
	b.WriteString("<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n")
	for _, n := range names {
		href := url.PathEscape(strings.TrimSuffix(n, "/"))
		if strings.HasSuffix(n, "/") {
			href += "/"
		}
		fmt.Fprintf(&b, "<a href=\"%s\">%s</a>\n", html.EscapeString(href), html.EscapeString(n))
	}
	b.WriteString("</pre>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write([]byte(b.String()))
}

// listed says how entry name of directory rel appears in a listing ("sub/"
// for a directory), and whether it appears at all: only what a request for it
// would serve, so not a hidden name or a link to one (when dotfiles are off),
// a link leading outside the directory served, or anything but a regular
// file or directory (FIFOs, devices, sockets).
func (h *fileHandler) listed(rel []string, name string) (string, bool) {
	if !h.opts.Dotfiles && strings.HasPrefix(name, ".") {
		return "", false
	}
	real, perr := resolve(h.root, append(rel[:len(rel):len(rel)], name))
	if perr != nil || (!h.opts.Dotfiles && hiddenTarget(h.root, real)) {
		return "", false
	}
	info, err := os.Stat(real)
	switch {
	case err != nil:
		return "", false
	case info.IsDir():
		return name + "/", true
	case info.Mode().IsRegular():
		return name, true
	}
	return "", false
}

func (h *fileHandler) serveFile(w http.ResponseWriter, r *http.Request, name string, info fs.FileInfo) {
	if !info.Mode().IsRegular() {
		http.Error(w, "not a regular file", http.StatusForbidden)
		return
	}
	f, err := os.Open(name)
	if err != nil {
		http.Error(w, "cannot open the file", http.StatusForbidden)
		return
	}
	defer f.Close()
	if t := ContentType(name); t != "" {
		w.Header().Set("Content-Type", t)
	}
	// ServeContent answers HEAD, Range (206, 416) and conditional requests.
	http.ServeContent(w, r, info.Name(), info.ModTime(), f)
}

// redirect sends a relative redirect that keeps the query string.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	if q := r.URL.RawQuery; q != "" {
		to += "?" + q
	}
	// to starts with a single "/" (splitRequestPath refused empty
	// segments), so it cannot become a "//host" redirect to another site.
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusMovedPermanently)
}
