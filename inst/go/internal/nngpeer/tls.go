package nngpeer

import "mangoro/internal/tlsenv"

// TLSFiles names the PEM material of one side of a TLS connection; see
// tlsenv.TLSFiles.
type TLSFiles = tlsenv.TLSFiles

// Environment variables holding PEM text (tlsenv).
const (
	EnvTLSCert = tlsenv.EnvTLSCert
	EnvTLSKey  = tlsenv.EnvTLSKey
	EnvTLSCA   = tlsenv.EnvTLSCA
)

// ErrTLS is wrapped by every error about TLS material.
var ErrTLS = tlsenv.ErrTLS
