// Package nngpeer holds the shared code of the nng-peer example program:
// a mangos socket of any NNG protocol that talks to R's nanonext over any
// transport, with or without TLS.
//
// The pieces are meant to be read and copied:
//
//   - codec.go converts between Go values and the bytes nanonext sends and
//     receives in mode "raw": doubles are little-endian IEEE 754 float64,
//     integers little-endian int32 (NA is math.MinInt32), character vectors
//     are NUL-terminated strings laid end to end, raw vectors are the bytes.
//   - tls.go builds a *tls.Config from PEM files or PEM text, accepting the
//     self-signed certificates of nanonext::write_cert(), whose name is in the
//     subject common name only (Go's verifier wants a subject alternative name).
//   - peer.go opens a socket, listens or dials, announces readiness and plays
//     one side of a protocol: it prints what it receives and sends what it is
//     given, from its command line or from stdin.
//
// Printed lines have the form
//
//	mangoro-recv <codec> <value> <value> ...
//
// with strings quoted as Go string literals and raw bytes as two hex digits,
// the same syntax the stdin commands use ("<codec> <value> ...", or "quit").
package nngpeer
