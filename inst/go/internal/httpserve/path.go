package httpserve

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// pathError is a refused request path: the status to answer and why.
type pathError struct {
	code   int
	reason string
}

func (e *pathError) Error() string { return e.reason }

func refuse(code int, reason string) *pathError { return &pathError{code, reason} }

// splitRequestPath checks an escaped request path ("/a/b%20c/") and returns
// its decoded segments; dir reports a trailing slash. Anything a clean path
// cannot hold is refused with 400 before the file system is touched: NUL,
// backslashes, encoded slashes or backslashes, empty segments and "." or
// ".." segments, percent-encoded or not.
func splitRequestPath(escaped string) (segs []string, dir bool, err *pathError) {
	if !strings.HasPrefix(escaped, "/") {
		return nil, false, refuse(400, "the path must start with /")
	}
	rest := escaped[1:]
	if rest == "" {
		return nil, true, nil
	}
	if strings.HasSuffix(rest, "/") {
		dir = true
		rest = rest[:len(rest)-1]
	}
	for _, raw := range strings.Split(rest, "/") {
		seg, uerr := url.PathUnescape(raw)
		switch {
		case uerr != nil:
			return nil, false, refuse(400, "malformed percent-encoding")
		case seg == "":
			return nil, false, refuse(400, "empty path segment (//)")
		case seg == "." || seg == "..":
			return nil, false, refuse(400, "dot segments (. or ..) are not allowed")
		case strings.ContainsAny(seg, "/\\\x00"):
			return nil, false, refuse(400, "encoded slash, backslash or NUL")
		}
		segs = append(segs, seg)
	}
	return segs, dir, nil
}

// normalizePrefix turns "", "/", "data", "/data/" into "/" or "/data/"
// and returns the prefix's segments. The prefix is in decoded form.
func normalizePrefix(p string) (string, []string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "/", nil, nil
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "\\\x00") {
			return "", nil, fmt.Errorf("prefix %q: want a URL path such as \"/\" or \"/data/\", without \".\", \"..\", \"//\" or backslashes", p)
		}
	}
	return "/" + p + "/", segs, nil
}

// stripPrefix returns the segments after prefix's, or ok == false when the
// path is not under prefix.
func stripPrefix(segs, prefix []string) (rest []string, ok bool) {
	if len(segs) < len(prefix) {
		return nil, false
	}
	for i, p := range prefix {
		if segs[i] != p {
			return nil, false
		}
	}
	return segs[len(prefix):], true
}

// hasDotfile reports whether any segment names a hidden file (".git").
func hasDotfile(segs []string) bool {
	for _, s := range segs {
		if strings.HasPrefix(s, ".") {
			return true
		}
	}
	return false
}

// hiddenTarget reports whether real (a resolved path within root) is or
// lies below a hidden name, wherever the request's own names pointed: a
// symbolic link "env" to ".env" resolves to a dotfile.
func hiddenTarget(root, real string) bool {
	rel, err := filepath.Rel(root, real)
	if err != nil || rel == "." {
		return false
	}
	return hasDotfile(strings.Split(rel, string(os.PathSeparator)))
}

// resolve maps the segments to a path under root (itself already free of
// symbolic links), following symbolic links, and refuses any result that
// leaves root: 404 when nothing is there, 403 when it is outside or
// unreadable.
func resolve(root string, segs []string) (string, *pathError) {
	rel := filepath.Join(segs...)
	if rel != "" && (!filepath.IsLocal(rel) || (runtime.GOOS == "windows" && strings.Contains(rel, ":"))) {
		// Windows names such as "C:", "NUL" or "file.txt::$DATA".
		return "", refuse(400, "not a local path")
	}
	real, err := filepath.EvalSymlinks(filepath.Join(root, rel))
	switch {
	case errors.Is(err, fs.ErrPermission):
		return "", refuse(403, "permission denied")
	case err != nil:
		// Not there, or a file used as a directory (ENOTDIR).
		return "", refuse(404, "not found")
	}
	if !within(root, real) {
		return "", refuse(403, "a symbolic link leads outside the served directory")
	}
	return real, nil
}

// within reports whether path is root or below it; both must be clean and
// absolute.
func within(root, path string) bool {
	if path == root {
		return true
	}
	if !strings.HasSuffix(root, string(os.PathSeparator)) {
		root += string(os.PathSeparator)
	}
	return strings.HasPrefix(path, root)
}
