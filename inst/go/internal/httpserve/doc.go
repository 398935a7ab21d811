// Package httpserve is the static file server behind the http-server
// program: R starts, stops and queries HTTP(S) servers over rgoipc, and
// this package does the serving.
//
// Handler serves one directory under a URL prefix and answers GET, HEAD
// and OPTIONS. Range requests (206 and 416), conditional requests and
// HEAD come from net/http's ServeContent; content types come from a small
// table of types the web and data tools need (.wasm, .js, .mjs, .json,
// .csv, .parquet, .arrow, ...) before mime.TypeByExtension.
//
// # What is never served
//
// A request is refused before the file system is touched when its path
// holds a NUL byte, a backslash, an encoded slash or backslash (%2f,
// %5c), an empty segment ("//"), or a "." or ".." segment, whether
// written plainly or percent-encoded (%2e%2e): 400 Bad Request. Clients
// and proxies normalise such paths, so a legitimate request never has them.
// Dotfiles (any segment starting with ".", such as .git or .env) answer
// 404 unless Options.Dotfiles is set. A path that exists is resolved with
// filepath.EvalSymlinks and must stay inside the (also resolved) root:
// a symbolic link pointing outside answers 403, one pointing inside is
// followed. Only regular files are served; directories answer with their
// index.html, else a listing when Options.Listing is set, else 403.
//
// Resolving and opening are two steps, so someone who can write into the
// served directory could swap a component for a symlink in between. The
// server is meant for directories the user controls; Go 1.24's os.Root
// would close that window once the module moves past Go 1.23.
//
// # Headers
//
// Every response has X-Content-Type-Options: nosniff. Config.CORS adds
// Access-Control-Allow-Origin: * with the exposed and allowed headers a
// browser needs for range requests, answers preflight OPTIONS requests,
// and sets Cross-Origin-Resource-Policy: cross-origin. Config.COOP adds
// Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy:
// require-corp, which make a page cross-origin isolated (SharedArrayBuffer,
// needed by e.g. multi-threaded WebAssembly).
//
// # Servers
//
// A Manager runs any number of servers, keyed by the address each one
// bound. Start binds the listener before it returns (so a client may
// connect at once) and reports port 0's real port; Stop shuts servers down
// gracefully, letting downloads in flight finish within a grace period.
// A bare port ("8080", ":8080") binds 127.0.0.1 only; pass "0.0.0.0:8080"
// to serve every interface. TLS uses the given PEM certificate and key
// with TLS 1.2 or later.
//
// Listings and dotfiles default by the bound address (Config.Listing and
// Config.Dotfiles, Auto): on for a loopback address, as net/http's
// FileServer and a local preview of a site expect, off for any other
// address, where they would show every file name and secrets such as .env
// to the network. On and Off override the default; links leaving the root
// are refused either way.
package httpserve
