package rgoipc

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Environment variables read by Main.
const (
	// EnvReady = "stdout" makes Main print "mangoro-ready <url>\n" once
	// listening and then send os.Stdout to standard error.
	EnvReady = "MANGORO_READY"
	// EnvParent = "stdin" makes Main shut down when standard input reaches
	// EOF, i.e. when the parent R process is gone (even after kill -9).
	EnvParent = "MANGORO_PARENT"
	// EnvMaxMessageSize overrides the largest accepted request, in bytes.
	EnvMaxMessageSize = "MANGORO_MAX_MESSAGE_SIZE"
)

// Run listens on url and serves reg until ctx ends, then shuts down
// gracefully (waiting up to the grace period for calls in flight) and
// removes the ipc socket file. It returns nil after a clean shutdown and an
// error if listening fails.
func Run(ctx context.Context, url string, reg *Registry, opts ...Option) error {
	s := NewServer(reg, opts...)
	addr, err := s.Listen(url)
	if err != nil {
		_ = s.Close()
		return err
	}
	s.logf("listening on %s (%d functions, %d workers)", addr, reg.Len(), s.workers)
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	if s.onReady != nil {
		if strings.HasSuffix(url, ":0") {
			url = addr // tell the client the port it must use
		}
		s.onReady(url)
	}
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

// Main is the whole main function of a server program:
//
//	func main() {
//		reg := rgoipc.NewRegistry()
//		// reg.Func(...), reg.HandleFunc(...)
//		rgoipc.Main(reg)
//	}
//
// It takes the URL from os.Args[1], logs to standard error with the prefix
// "[<program>] ", applies the MANGORO_* environment variables (EnvReady,
// EnvParent, EnvMaxMessageSize), shuts down gracefully on SIGINT or SIGTERM,
// and exits: 0 after a clean shutdown, 1 if it cannot listen (bad URL,
// address in use), 2 on a usage error. opts come after the defaults.
func Main(reg *Registry, opts ...Option) {
	prog := filepath.Base(os.Args[0])
	logger := log.New(os.Stderr, "["+prog+"] ", log.LstdFlags)
	if len(os.Args) != 2 || strings.HasPrefix(os.Args[1], "-") {
		logger.Printf("usage: %s <url>, e.g. %s ipc:///tmp/%s.sock or tcp://127.0.0.1:5555", prog, prog, prog)
		os.Exit(2)
	}
	url := os.Args[1]
	all := []Option{WithLogger(logger)}
	if v := os.Getenv(EnvMaxMessageSize); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > DefaultMaxMessageSize {
			logger.Printf("rgoipc: %s=%q: want a byte count between 1 and %d", EnvMaxMessageSize, v, DefaultMaxMessageSize)
			os.Exit(2)
		}
		all = append(all, WithMaxMessageSize(n))
	}
	if os.Getenv(EnvReady) == "stdout" {
		all = append(all, WithReady(func(addr string) {
			fmt.Fprintf(os.Stdout, "mangoro-ready %s\n", addr)
			// R reads stdout only for this line; later prints go to the log.
			os.Stdout = os.Stderr
		}))
	}
	all = append(all, opts...)

	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		cancel(fmt.Errorf("received %v", sig))
	}()
	if os.Getenv(EnvParent) == "stdin" {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel(fmt.Errorf("standard input closed (parent process gone)"))
		}()
	}
	if err := Run(ctx, url, reg, all...); err != nil {
		logger.Print(err)
		os.Exit(1)
	}
	os.Exit(0)
}
