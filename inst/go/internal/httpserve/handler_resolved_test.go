//go:build unix

package httpserve

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// resolvedTree adds to testTree links whose own names are plain but whose
// targets are hidden, and a FIFO:
//
//	root/env       -> .secret
//	root/gitconf   -> .git/config
//	root/gitdir    -> .git
//	root/site2/index.html -> ../.secret
//	root/fifo      (a named pipe)
func resolvedTree(t *testing.T) string {
	t.Helper()
	root := testTree(t)
	if err := os.MkdirAll(filepath.Join(root, "site2"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"env": ".secret", "gitconf": filepath.Join(".git", "config"), "gitdir": ".git",
		filepath.Join("site2", "index.html"): filepath.Join("..", ".secret"),
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return root
}

// TestDotfileRuleOnTarget: with dotfiles off, a plain name that resolves to
// a hidden file or directory is not served; with dotfiles on it is.
func TestDotfileRuleOnTarget(t *testing.T) {
	root := resolvedTree(t)
	off := newTestHandler(t, Options{Dir: root})
	on := newTestHandler(t, Options{Dir: root, Dotfiles: true})
	tests := []struct {
		target string
		off    int
		on     int
	}{
		{"/env", 404, 200},
		{"/gitconf", 404, 200},
		{"/gitdir/config", 404, 200},
		{"/site2/", 403, 200}, // its index is a link to .secret: no index, and no listing
		{"/fifo", 403, 403},   // not a regular file
		{"/hello.txt", 200, 200},
		{"/link-in", 200, 200},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			name string
			h    http.Handler
			want int
		}{{"dotfiles off", off, tt.off}, {"dotfiles on", on, tt.on}} {
			w := rawRequest(t, c.h, "GET", tt.target, nil)
			if w.Code != c.want {
				t.Errorf("%s %s: status %d, want %d", c.name, tt.target, w.Code, c.want)
			}
			if c.want != 200 && strings.Contains(w.Body.String(), secret) {
				t.Errorf("%s %s: body holds the secret", c.name, tt.target)
			}
		}
	}
}

// TestListingShowsWhatIsServed: the listing leaves out hidden names and
// links to them (dotfiles off), links leading outside the directory, and
// FIFOs; with dotfiles on, hidden targets appear.
func TestListingShowsWhatIsServed(t *testing.T) {
	root := resolvedTree(t)
	body := func(opts Options) string {
		opts.Dir, opts.Listing = root, true
		w := rawRequest(t, newTestHandler(t, opts), "GET", "/", nil)
		if w.Code != 200 {
			t.Fatalf("listing: status %d", w.Code)
		}
		return w.Body.String()
	}
	off := body(Options{})
	for _, want := range []string{`href="hello.txt"`, `href="link-in"`, `href="sub/"`, `href="site2/"`} {
		if !strings.Contains(off, want) {
			t.Errorf("listing lacks %s:\n%s", want, off)
		}
	}
	for _, bad := range []string{"env", "gitconf", "gitdir", "fifo", "link-out", "dir-out", ".secret", ".git"} {
		if strings.Contains(off, `"`+bad) {
			t.Errorf("listing (dotfiles off) shows %s:\n%s", bad, off)
		}
	}
	on := body(Options{Dotfiles: true})
	for _, want := range []string{`href="env"`, `href="gitdir/"`, `href=".secret"`} {
		if !strings.Contains(on, want) {
			t.Errorf("listing (dotfiles on) lacks %s:\n%s", want, on)
		}
	}
	for _, bad := range []string{"fifo", "link-out", "dir-out"} {
		if strings.Contains(on, `"`+bad) {
			t.Errorf("listing (dotfiles on) shows %s:\n%s", bad, on)
		}
	}
}
