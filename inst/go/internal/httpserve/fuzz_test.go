package httpserve

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzSplitRequestPath checks that no accepted path, however encoded, has
// a segment that could leave the served directory.
func FuzzSplitRequestPath(f *testing.F) {
	for _, s := range []string{
		"/", "/a/b.txt", "/a/", "/../x", "/%2e%2e/x", "/a%2fb", "/a%5cb", "/a\\b", "//x", "/a%00",
		"/%252e%252e/x", "/.%2e/", "/a/./b", "/C:/x", "/%zz",
	} {
		f.Add(s)
	}
	root := filepath.FromSlash("/srv/root")
	f.Fuzz(func(t *testing.T, p string) {
		segs, _, err := splitRequestPath(p)
		if err != nil {
			if err.code != 400 {
				t.Fatalf("%q: code %d", p, err.code)
			}
			return
		}
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
				t.Fatalf("%q: accepted segment %q", p, s)
			}
		}
		if full := filepath.Join(root, filepath.Join(segs...)); !within(root, full) {
			t.Fatalf("%q: %s is outside %s", p, full, root)
		}
	})
}
