package rgoipc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"mangoro/internal/wire"
)

// TestHandlerCodes: a handler's error reply carries the code given with
// Coded (also when wrapped), "handler" otherwise or when the code is not
// valid, and "panic" for a panic, whose message has one "panic:".
func TestHandlerCodes(t *testing.T) {
	reg := NewRegistry()
	fail := func(err error) func(context.Context, *Args) (arrow.RecordBatch, error) {
		return func(context.Context, *Args) (arrow.RecordBatch, error) { return nil, err }
	}
	err := errors.Join(
		reg.HandleFunc("coded", Signature{}, fail(Coded("not_found", errors.New("no such user")))),
		reg.HandleFunc("wrapped", Signature{}, fail(fmt.Errorf("lookup: %w", Coded("gone", errors.New("deleted"))))),
		reg.HandleFunc("badcode", Signature{}, fail(Coded("Not Found!", errors.New("x")))),
		reg.HandleFunc("plain", Signature{}, fail(errors.New("boom"))),
		reg.HandleFunc("panics", Signature{}, func(context.Context, *Args) (arrow.RecordBatch, error) {
			panic("panic: already prefixed")
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := NewServer(reg, WithLogger(log.New(&logs, "", 0)))
	tests := []struct{ fn, msg, code string }{
		{"coded", "coded: no such user", "not_found"},
		{"wrapped", "wrapped: lookup: deleted", "gone"},
		{"badcode", "badcode: x", "handler"},
		{"plain", "plain: boom", "handler"},
		{"panics", "panics: panic: already prefixed", "panic"},
	}
	for _, tc := range tests {
		t.Run(tc.fn, func(t *testing.T) {
			env, _ := readReply(t, s.handleMessage(context.Background(), (&wire.Envelope{Type: wire.MsgCall, Name: tc.fn}).Encode(nil), nil))
			if env.Type != wire.MsgError || env.Name != tc.fn || env.Error != tc.msg || wire.ErrorCode(env.Payload) != tc.code {
				t.Errorf("reply %v %q %q %s, want %q with code %q", env.Type, env.Name, env.Error, env.Payload, tc.msg, tc.code)
			}
		})
	}
	if !strings.Contains(logs.String(), `badcode: error code "Not Found!" is not`) {
		t.Errorf("invalid code not logged:\n%s", logs.String())
	}
}

// TestRegistrationErrorsRefuseToServe: a failed registration is remembered
// even when the program ignores the error, and the server will not listen.
func TestRegistrationErrorsRefuseToServe(t *testing.T) {
	reg := NewRegistry()
	_ = reg.Func("good", func(x []float64) []float64 { return x }, ArgNames("x"))
	_ = reg.Func("bad", func(x []complex128) []float64 { return nil }, ArgNames("x"))
	_ = reg.Func("good", func(x []float64) []float64 { return x }, ArgNames("x"))
	s := NewServer(reg, WithLogger(nil))
	defer s.Close()
	_, err := s.Listen("inproc://rgoipc-refused")
	if err == nil {
		t.Fatal("Listen succeeded with failed registrations")
	}
	for _, want := range []string{"function registration failed", `register "bad"`, "complex128", `duplicate function name: "good"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if !errors.Is(err, ErrInvalidSignature) || !errors.Is(err, ErrDuplicate) {
		t.Errorf("error does not wrap the registration sentinels: %v", err)
	}
}

// TestServeLogs: serve reports the functions it has, and says so when
// there are none; the ready callback gets the bound port.
func TestServeLogs(t *testing.T) {
	for _, tc := range []struct {
		name string
		reg  *Registry
		want string
	}{
		{"none", NewRegistry(), "with no functions registered"},
		{"some", testRegistry(t), "(7 functions, 64 workers)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			var addr string
			err := serve(ctx, "tcp://127.0.0.1:0", tc.reg, func(a string) { addr = a; cancel() }, WithLogger(log.New(&logs, "", 0)))
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`^tcp://127\.0\.0\.1:[1-9][0-9]*$`).MatchString(addr) {
				t.Errorf("ready with %q", addr)
			}
			for _, want := range []string{tc.want, "warning: tcp://127.0.0.1:0 has no authentication"} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, logs.String())
				}
			}
		})
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestVersionMatchesDescription: Version is the R package's version.
func TestVersionMatchesDescription(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "DESCRIPTION"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("DESCRIPTION is not beside this module (inst/go outside the R package source)")
	} else if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Version:\s*(\S+)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("DESCRIPTION has no Version field")
	}
	if string(m[1]) != Version {
		t.Errorf("rgoipc.Version = %q, DESCRIPTION says %q", Version, m[1])
	}
}

// TestRunProcessRemovesSocketFile: RunProcess removes the ipc socket file
// of the URL it is given once run returns.
func TestRunProcessRemovesSocketFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.sock")
	err := RunProcess("ipc://"+path, func(ctx context.Context, ready func(string)) error {
		return os.WriteFile(path, nil, 0o600) // stands in for the socket
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left behind: %v", err)
	}
}
