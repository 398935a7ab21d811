package rgoipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"mangoro/internal/tlsenv"
)

// Main is the whole main function of a server program:
//
//	func main() {
//		reg := rgoipc.NewRegistry()
//		// reg.Func(...), reg.HandleFunc(...)
//		rgoipc.Main(reg)
//	}
//
// It takes the URL from os.Args[1] and serves reg there under RunProcess,
// logging to standard error with the prefix "[<program>] ". Environment:
//
//   - MANGORO_MAX_MESSAGE_SIZE: the largest request envelope accepted, in
//     bytes (WithMaxMessageSize).
//   - MANGORO_TLS_CERT and MANGORO_TLS_KEY: PEM text of a certificate
//     (chain) and its key, for a tls+tcp:// or wss:// URL; MANGORO_TLS_CA
//     also makes the server verify the client certificates it is shown
//     (WithTLS).
//   - MANGORO_READY and MANGORO_PARENT: see RunProcess.
//   - GOMAXPROCS: when it is not set, Main runs the process on one P while
//     it answers one short call at a time (a second P only adds thread
//     wake-ups to each call) and on every P as soon as two calls run at once
//     or one runs for over a millisecond. Set it to choose for yourself.
//
// Transports and who they let in: ipc:// (the default R uses) is a socket
// file, reachable by whoever may open it (mangoro puts it in a 0700
// directory); tcp:// and ws:// have no authentication at all, so any user
// of any machine that can reach the port can call every function (Main
// logs a warning); tls+tcp:// and wss:// encrypt, and with MANGORO_TLS_CA
// can require clients to prove who they are.
//
// Main exits 0 after a clean shutdown; 1 if it cannot serve (a function
// failed to register, a bad URL, the address is in use, bad TLS material),
// with the reason on standard error; 2 on a usage error.
//
// When MANGORO_TOKEN is set, every request must carry that token in its
// header (clients authenticate to the server); others get only an
// "unauthorized" error. Main unsets the variable before serving, and the
// token never appears in a log. opts come after
// the defaults.
func Main(reg *Registry, opts ...Option) {
	prog := filepath.Base(os.Args[0])
	logger := log.New(os.Stderr, "["+prog+"] ", log.LstdFlags)
	if len(os.Args) != 2 || strings.HasPrefix(os.Args[1], "-") {
		logger.Printf("usage: %s <url>, e.g. %s ipc:///tmp/%s.sock or tcp://127.0.0.1:5555", prog, prog, prog)
		os.Exit(2)
	}
	url := os.Args[1]
	all := []Option{WithLogger(logger), withAdaptiveProcs()}
	if v := os.Getenv(envMaxMessageSize); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > defaultMaxMessageSize {
			logger.Printf("rgoipc: %s=%q: want a byte count between 1 and %d", envMaxMessageSize, v, defaultMaxMessageSize)
			os.Exit(2)
		}
		all = append(all, WithMaxMessageSize(n))
	}
	if !(tlsenv.TLSFiles{}).Empty(os.Getenv) {
		cfg, err := tlsenv.TLSFiles{}.Config(true, "", os.Getenv)
		if err != nil {
			logger.Printf("rgoipc: %v", err)
			os.Exit(1)
		}
		all = append(all, WithTLS(cfg))
	}
	if tok, ok := os.LookupEnv(envToken); ok {
		// Unset at once: children of handlers must not inherit it.
		_ = os.Unsetenv(envToken)
		if tok == "" {
			logger.Printf("rgoipc: %s is set but empty", envToken)
			os.Exit(2)
		}
		all = append(all, withToken(tok))
	}
	all = append(all, opts...)
	err := RunProcess(url, func(ctx context.Context, ready func(addr string)) error {
		return serve(ctx, url, reg, ready, all...)
	})
	if err != nil {
		logger.Print(err)
		os.Exit(1)
	}
	os.Exit(0)
}

// envToken holds the credential every request must carry (WIRE.md,
// "Request header"); Main reads it and removes it from the environment.
const envToken = "MANGORO_TOKEN"

// envMaxMessageSize overrides the largest accepted request (Main).
const envMaxMessageSize = "MANGORO_MAX_MESSAGE_SIZE"

// serve listens on url and serves reg until ctx ends, then shuts down
// gracefully (waiting up to the grace period for calls in flight).
func serve(ctx context.Context, url string, reg *Registry, ready func(string), opts ...Option) error {
	s := NewServer(reg, opts...)
	addr, err := s.Listen(url)
	if err != nil {
		_ = s.Close()
		return err
	}
	if n := reg.len(); n == 0 {
		s.logf("listening on %s with no functions registered: the manifest is empty", addr)
	} else {
		s.logf("listening on %s (%d functions, %d workers)", addr, n, s.workers)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	if strings.HasSuffix(url, ":0") || strings.Contains(url, ":0/") {
		url = addr // tell the client the port it must use
	}
	ready(url)
	select {
	case <-ctx.Done():
		s.logf("shutting down: %v", context.Cause(ctx))
		sctx, cancel := context.WithTimeout(context.Background(), s.grace)
		defer cancel()
		err := s.Shutdown(sctx)
		<-served
		if err != nil {
			return fmt.Errorf("rgoipc: shutdown: %w", err)
		}
		return nil
	case err := <-served:
		return err
	}
}

// RunProcess runs a program that mangoro starts from R, under the process
// contract R relies on, and returns what run returns. Main uses it; so does
// any program that owns its socket:
//
//	err := rgoipc.RunProcess(url, func(ctx context.Context, ready func(addr string)) error {
//		// listen on url, then:
//		ready(url)
//		<-ctx.Done() // serve until told to stop
//		return nil
//	})
//
// run listens (or dials), calls ready with the address it serves once
// clients can connect, and returns when ctx ends. The contract:
//
//   - MANGORO_READY=stdout: ready prints the line "mangoro-ready <addr>" on
//     standard output, the one line R waits for, and then points os.Stdout
//     at standard error so later prints reach the log, not R's reader.
//     Later calls of ready do nothing.
//   - MANGORO_PARENT=stdin: ctx ends when standard input reaches end of
//     file, which happens when the R process is gone, even after kill -9,
//     so a program never outlives its session.
//   - SIGINT and SIGTERM end ctx.
//   - When run returns and listen is an ipc:// URL, its socket file is
//     removed (pass "" when the program dials).
//
// context.Cause(ctx) says why ctx ended.
func RunProcess(listen string, run func(ctx context.Context, ready func(addr string)) error) error {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case sig := <-sigs:
			cancel(fmt.Errorf("received %v", sig))
		case <-ctx.Done():
		}
	}()
	if os.Getenv("MANGORO_PARENT") == "stdin" {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel(errors.New("standard input closed: parent gone"))
		}()
	}
	var once sync.Once
	ready := func(addr string) {
		once.Do(func() {
			if os.Getenv("MANGORO_READY") == "stdout" {
				fmt.Fprintf(os.Stdout, "mangoro-ready %s\n", addr)
				os.Stdout = os.Stderr
			}
		})
	}
	err := run(ctx, ready)
	if p, ok := strings.CutPrefix(listen, "ipc://"); ok {
		// mangos does not always unlink the socket file; leave nothing behind.
		if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = fmt.Errorf("rgoipc: remove socket file: %w", rerr)
		}
	}
	return err
}
