// Package tlsenv builds the TLS configuration of a mangoro Go program from
// PEM files or from the MANGORO_TLS_* environment variables, which R sets
// to PEM text so that no key needs to be written to disk. nng-peer and
// rgoipc.Main share it.
package tlsenv

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// TLSFiles names the PEM material of one side of a TLS connection. Each item
// is a file path, or empty; the matching environment variable (see TLSEnv)
// may hold the PEM text instead, which wins when both are given.
type TLSFiles struct {
	CertFile string // certificate (chain), leaf first
	KeyFile  string // private key of the certificate
	CAFile   string // certificates trusted to sign the peer's certificate
}

// Environment variables holding PEM text, for programs started from R
// without writing files.
const (
	EnvTLSCert = "MANGORO_TLS_CERT"
	EnvTLSKey  = "MANGORO_TLS_KEY"
	EnvTLSCA   = "MANGORO_TLS_CA"
)

// ErrTLS is wrapped by every error about TLS material.
var ErrTLS = errors.New("tls")

// Empty reports whether no TLS material is named at all.
func (f TLSFiles) Empty(getenv func(string) string) bool {
	return f.CertFile == "" && f.KeyFile == "" && f.CAFile == "" &&
		getenv(EnvTLSCert) == "" && getenv(EnvTLSKey) == "" && getenv(EnvTLSCA) == ""
}

func loadPEM(path, env string, getenv func(string) string) ([]byte, error) {
	if v := getenv(env); v != "" {
		return []byte(v), nil
	}
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTLS, err)
	}
	return b, nil
}

// Config builds the *tls.Config for a listener (server = true) or a dialer.
// serverName is the name the server's certificate must carry; for a dialer
// it defaults to the host of the URL. getenv is os.Getenv in programs.
//
// A server needs a certificate and key; with a CA it also verifies client
// certificates when clients present one (as nanonext's server default).
// A client needs a CA; with a certificate and key it presents them.
func (f TLSFiles) Config(server bool, serverName string, getenv func(string) string) (*tls.Config, error) {
	certPEM, err := loadPEM(f.CertFile, EnvTLSCert, getenv)
	if err != nil {
		return nil, err
	}
	keyPEM, err := loadPEM(f.KeyFile, EnvTLSKey, getenv)
	if err != nil {
		return nil, err
	}
	caPEM, err := loadPEM(f.CAFile, EnvTLSCA, getenv)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if (certPEM == nil) != (keyPEM == nil) {
		return nil, fmt.Errorf("%w: give both a certificate and its key, or neither", ErrTLS)
	}
	if certPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate and key: %v", ErrTLS, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	var roots *x509.CertPool
	if caPEM != nil {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("%w: no PEM certificate found in the CA", ErrTLS)
		}
	}
	if server {
		if cfg.Certificates == nil {
			return nil, fmt.Errorf("%w: a server needs a certificate and key", ErrTLS)
		}
		if roots != nil {
			cfg.ClientCAs = roots
			cfg.ClientAuth = tls.VerifyClientCertIfGiven
		}
		return cfg, nil
	}
	if roots == nil {
		return nil, fmt.Errorf("%w: a client needs a CA to verify the server", ErrTLS)
	}
	// Go verifies names against subject alternative names only, and the
	// certificates of nanonext::write_cert() have none: the standard check
	// is replaced by one that verifies the chain as usual and then accepts
	// the common name when (and only when) the certificate has no SANs.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyServer(cs, roots, serverName)
	}
	return cfg, nil
}

func verifyServer(cs tls.ConnectionState, roots *x509.CertPool, name string) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: server presented no certificate", ErrTLS)
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("%w: server certificate: %v", ErrTLS, err)
	}
	if name == "" {
		return nil
	}
	if hasSANs(leaf) {
		if err := leaf.VerifyHostname(name); err != nil {
			return fmt.Errorf("%w: %v", ErrTLS, err)
		}
		return nil
	}
	cn := leaf.Subject.CommonName
	if ip := net.ParseIP(name); ip != nil {
		if cnIP := net.ParseIP(cn); cnIP != nil && cnIP.Equal(ip) {
			return nil
		}
	} else if strings.EqualFold(strings.TrimSuffix(cn, "."), strings.TrimSuffix(name, ".")) {
		return nil
	}
	return fmt.Errorf("%w: server certificate is for %q, not %q", ErrTLS, cn, name)
}

func hasSANs(c *x509.Certificate) bool {
	return len(c.DNSNames) > 0 || len(c.IPAddresses) > 0 || len(c.URIs) > 0 || len(c.EmailAddresses) > 0
}
