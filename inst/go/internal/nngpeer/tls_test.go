package nngpeer

import (
	"context"
	"errors"
	"mangoro/internal/testcert"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned makes a certificate like nanonext::write_cert(): self-signed,
// a CA, with its name in the common name only (no SANs).
func selfSigned(t *testing.T, cn string) (certPEM, keyPEM string) {
	t.Helper()
	c, k := testcert.New(t, cn)
	return string(c), string(k)
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestTLSReqRep(t *testing.T) {
	cert, key := selfSigned(t, "127.0.0.1")
	otherCert, _ := selfSigned(t, "127.0.0.1")
	localhostCert, localhostKey := selfSigned(t, "localhost")
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, []byte(cert), 0o600); err != nil {
		t.Fatal(err)
	}

	serve := func(t *testing.T, scheme, cert, key string) string {
		srv, err := TLSFiles{}.Config(true, "", env(map[string]string{EnvTLSCert: cert, EnvTLSKey: key}))
		if err != nil {
			t.Fatal(err)
		}
		path := ""
		if scheme == "wss" {
			path = "/peer"
		}
		return start(t, Config{Protocol: "rep", URL: scheme + "://127.0.0.1:0" + path, TLS: srv}).addr
	}
	tests := []struct {
		name       string
		scheme     string
		serverCert string
		serverKey  string
		client     TLSFiles
		clientEnv  map[string]string
		wantErr    string
	}{
		{"tls+tcp, CA from file", "tls+tcp", cert, key, TLSFiles{CAFile: caFile}, nil, ""},
		{"wss, CA from env", "wss", cert, key, TLSFiles{}, map[string]string{EnvTLSCA: cert}, ""},
		{"wrong CA", "tls+tcp", cert, key, TLSFiles{}, map[string]string{EnvTLSCA: otherCert}, "unknown authority"},
		{"wrong name", "tls+tcp", localhostCert, localhostKey, TLSFiles{}, map[string]string{EnvTLSCA: localhostCert}, `not "127.0.0.1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := serve(t, tt.scheme, tt.serverCert, tt.serverKey)
			cli, err := tt.client.Config(false, "127.0.0.1", env(tt.clientEnv))
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = Run(ctx, Config{Protocol: "req", URL: url, Dial: true, TLS: cli, Codec: String, Values: []string{"hi"}, Out: &out})
			if tt.wantErr == "" {
				if err != nil || out.String() != "mangoro-recv string \"hi\"\n" {
					t.Fatalf("err = %v, out = %q", err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestTLSConfigErrors(t *testing.T) {
	cert, key := selfSigned(t, "x")
	tests := []struct {
		name   string
		files  TLSFiles
		env    map[string]string
		server bool
	}{
		{"server without key", TLSFiles{}, map[string]string{EnvTLSCert: cert}, true},
		{"server without cert", TLSFiles{}, map[string]string{EnvTLSCA: cert}, true},
		{"client without CA", TLSFiles{}, map[string]string{EnvTLSCert: cert, EnvTLSKey: key}, false},
		{"CA not PEM", TLSFiles{}, map[string]string{EnvTLSCA: "nonsense"}, false},
		{"missing file", TLSFiles{CAFile: filepath.Join(t.TempDir(), "none.pem")}, nil, false},
		{"key does not match", TLSFiles{}, map[string]string{EnvTLSCert: cert, EnvTLSKey: "bad"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.files.Config(tt.server, "x", env(tt.env)); !errors.Is(err, ErrTLS) {
				t.Fatalf("err = %v, want ErrTLS", err)
			}
		})
	}
}
