package rgoipc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/rep"

	"mangoro/internal/wire"

	// Every mangos transport (inproc, ipc, tcp, tls+tcp, ws, wss), so any
	// URL the client can use works here too.
	_ "go.nanomsg.org/mangos/v3/transport/all"
)

// defaultMaxMessageSize is the largest request envelope accepted unless
// WithMaxMessageSize says otherwise.
const defaultMaxMessageSize = 1<<31 - 1

// reqHeaderSize is what the REQ protocol adds to every request on the wire
// (its request ID). The transports count it against the receive limit, so
// the socket's limit is the envelope limit plus this (WIRE.md, "Size
// limit").
const reqHeaderSize = 4

// defaultGracePeriod is how long Main lets in-flight calls finish when it
// is told to stop.
const defaultGracePeriod = 5 * time.Second

// defaultWorkers is the number of concurrent calls a server runs unless
// WithWorkers says otherwise.
const defaultWorkers = 64

// Option configures a Server.
type Option func(*Server)

// WithWorkers sets how many calls run concurrently (default 64). Each worker has its own mangos context, so every reply
// goes back to the caller that asked. Workers are goroutines: an idle one
// costs a few kilobytes, and calls that wait (on I/O, a timer, another
// service) should not queue behind the number of cores; CPU-bound handlers
// are bounded by GOMAXPROCS anyway.
func WithWorkers(n int) Option {
	return func(s *Server) {
		if n > 0 {
			s.workers = n
		}
	}
}

// WithOnShutdown registers f to run during Shutdown, after the calls in
// flight have finished (or the deadline passed) and before the socket
// closes, with Shutdown's context. Use it to stop what handlers started,
// such as listeners, within the same grace period. Hooks run once, in the
// order given; Close does not run them.
func WithOnShutdown(f func(ctx context.Context)) Option {
	return func(s *Server) {
		if f != nil {
			s.onStop = append(s.onStop, f)
		}
	}
}

// WithMaxMessageSize sets the largest request envelope, in bytes, the
// server accepts (default and maximum 2 GiB - 1). The info reply reports
// it, so R refuses a larger call before sending; a larger message that
// arrives anyway is dropped by the transport.
func WithMaxMessageSize(n int64) Option {
	return func(s *Server) {
		if n > 0 {
			s.maxMsg = n
		}
	}
}

// WithLogger sets where the server logs (listening, shutdown, handler
// panics with stack traces). nil discards logs. Default: standard error,
// prefixed "[rgoipc] ".
func WithLogger(l *log.Logger) Option {
	return func(s *Server) {
		if l == nil {
			l = log.New(io.Discard, "", 0)
		}
		s.logger = l
	}
}

// WithAllocator sets the Arrow allocator for decoding requests and
// building results (Args.Mem). Default: memory.DefaultAllocator.
func WithAllocator(mem memory.Allocator) Option {
	return func(s *Server) {
		if mem != nil {
			s.mem = mem
		}
	}
}

// WithTLS sets the certificate configuration for tls+tcp:// and wss://
// listeners (Main builds it from MANGORO_TLS_CERT and MANGORO_TLS_KEY).
// Other transports ignore it.
func WithTLS(cfg *tls.Config) Option {
	return func(s *Server) { s.tls = cfg }
}

// withToken makes the server require tok in every request's header (Main
// sets it from MANGORO_TOKEN). Only a digest is kept, so comparisons take
// the same time whatever the lengths.
func withToken(tok string) Option {
	return func(s *Server) {
		d := sha256.Sum256([]byte(tok))
		s.token = &d
	}
}

// authorized reports whether tok is the server's token (always true for a
// server without one), in constant time.
func (s *Server) authorized(tok string) bool {
	if s.token == nil {
		return true
	}
	d := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(d[:], s.token[:]) == 1
}

// Server answers requests on a mangos REP socket with the functions of a
// Registry. Create it with NewServer, Listen (any number of times), then
// Serve. Shutdown stops it gracefully, Close at once. Main does all of
// this for a program; use a Server to serve from a program of your own.
type Server struct {
	reg     *Registry
	workers int
	maxMsg  int64
	logger  *log.Logger
	mem     memory.Allocator
	tls     *tls.Config
	grace   time.Duration
	token   *[sha256.Size]byte // digest of the required token, nil: none
	onStop  []func(context.Context)

	busy    atomic.Int64  // workers running a call
	procs   *procs        // GOMAXPROCS by load (procs.go); nil: left alone
	idle    atomic.Int64  // receivers waiting for a request
	slots   chan struct{} // one per worker: a call holds one while it runs
	callsMu sync.Mutex
	calls   map[string]*callCtx // call id -> its context, while it runs
	tomb    map[string]struct{} // ids cancelled before their call came
	tombq   []string            // the same ids, oldest first
	stopped sync.Once           // runs onStop once

	mu       sync.Mutex
	sock     mangos.Socket
	ipcPaths []string // socket files to remove on exit
	ws       []*worker
	serving  bool
	shutting bool // Shutdown has begun: Serve starts no more workers
	closed   bool
	done     chan struct{} // closed when the socket is closed
	wg       sync.WaitGroup

	base   context.Context // parent of every call's context
	cancel context.CancelFunc
}

type worker struct {
	mu      sync.Mutex
	ctx     mangos.Context
	busy    bool
	closing bool
}

// NewServer returns a server for reg configured by opts.
func NewServer(reg *Registry, opts ...Option) *Server {
	s := &Server{
		reg:     reg,
		workers: defaultWorkers,
		maxMsg:  defaultMaxMessageSize,
		logger:  log.New(os.Stderr, "[rgoipc] ", log.LstdFlags),
		mem:     memory.DefaultAllocator,
		grace:   defaultGracePeriod,
		done:    make(chan struct{}),
		calls:   make(map[string]*callCtx),
		tomb:    make(map[string]struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	s.slots = make(chan struct{}, s.workers)
	s.base, s.cancel = context.WithCancel(context.Background())
	return s
}

func (s *Server) logf(format string, a ...any) { s.logger.Printf(format, a...) }

// socket returns the REP socket, opening it on first use.
func (s *Server) socket() (mangos.Socket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrServerClosed
	}
	if s.sock != nil {
		return s.sock, nil
	}
	sock, err := rep.NewSocket()
	if err != nil {
		return nil, fmt.Errorf("rgoipc: open socket: %w", err)
	}
	if err := sock.SetOption(mangos.OptionMaxRecvSize, int(s.maxMsg+reqHeaderSize)); err != nil {
		_ = sock.Close()
		return nil, fmt.Errorf("rgoipc: max message size %d: %w", s.maxMsg, err)
	}
	// No send queue: a reply's SendMsg returns once the pipe's sender has
	// taken it, not while it sits in a queue that closing the socket drops
	// (mangos' rep has no linger). Shutdown closes the socket only after
	// every call has been answered, so no reply is lost to that queue.
	if err := sock.SetOption(mangos.OptionWriteQLen, 0); err != nil {
		_ = sock.Close()
		return nil, fmt.Errorf("rgoipc: send queue: %w", err)
	}
	s.sock = sock
	return sock, nil
}

// Listen starts listening on url (ipc://path, tcp://host:port, inproc://name,
// ws://host:port/path, tls+tcp://host:port, wss://host:port/path; the last
// two need WithTLS). It returns the address actually bound, which differs
// from url only for a tcp port 0. It fails, listening nowhere, while the
// registry holds a failed registration (see Registry). tcp:// and ws://
// authenticate nobody: Listen logs a warning for them.
func (s *Server) Listen(url string) (string, error) {
	if err := s.reg.err(); err != nil {
		return "", fmt.Errorf("rgoipc: not serving: function registration failed:\n%w", err)
	}
	sock, err := s.socket()
	if err != nil {
		return "", err
	}
	l, err := sock.NewListener(url, nil)
	if err != nil {
		return "", fmt.Errorf("rgoipc: listen %q: %w", url, err)
	}
	scheme, _, _ := strings.Cut(url, "://")
	switch scheme {
	case "tls+tcp", "wss":
		if s.tls == nil {
			return "", fmt.Errorf("rgoipc: listen %q: no certificate: set MANGORO_TLS_CERT and MANGORO_TLS_KEY (or use WithTLS)", url)
		}
		if err := l.SetOption(mangos.OptionTLSConfig, s.tls); err != nil {
			return "", fmt.Errorf("rgoipc: listen %q: %w", url, err)
		}
	case "tcp", "ws":
		s.logf("warning: %s has no authentication: any user who can reach the port can call every function; use ipc:// on one machine, or tls+tcp:// or wss:// with a certificate", url)
	}
	if err := l.Listen(); err != nil {
		return "", fmt.Errorf("rgoipc: listen %q: %w", url, err)
	}
	if p, ok := strings.CutPrefix(url, "ipc://"); ok {
		s.mu.Lock()
		s.ipcPaths = append(s.ipcPaths, p)
		s.mu.Unlock()
	}
	return l.Address(), nil
}

// Serve answers requests until Shutdown or Close and then returns
// ErrServerClosed. Listen first.
func (s *Server) Serve() error {
	s.mu.Lock()
	switch {
	case s.closed || s.shutting:
		s.mu.Unlock()
		return ErrServerClosed
	case s.sock == nil:
		s.mu.Unlock()
		return errors.New("rgoipc: Serve called before Listen")
	case s.serving:
		s.mu.Unlock()
		return errors.New("rgoipc: Serve called twice")
	}
	s.serving = true
	for i := 0; i < receivers; i++ {
		if err := s.startReceiver(); err != nil {
			s.mu.Unlock()
			_ = s.Close()
			return err
		}
	}
	s.mu.Unlock()
	<-s.done
	return ErrServerClosed
}

// replyPrealloc bounds the reply buffer allocated before a call runs.
const replyPrealloc = 64 << 10

// receivers is the number of goroutines waiting for requests when the
// server is idle.
const receivers = 2

// startReceiver starts one more receiver on a fresh context. Called with
// s.mu held; during Shutdown it starts none.
func (s *Server) startReceiver() error {
	if s.shutting || s.closed {
		return ErrServerClosed
	}
	c, err := s.sock.OpenContext()
	if err != nil {
		return fmt.Errorf("rgoipc: open context: %w", err)
	}
	w := &worker{ctx: c}
	s.ws = append(s.ws, w)
	s.wg.Add(1)
	go s.run(w)
	return nil
}

// dropReceiver forgets a receiver that has ended.
func (s *Server) dropReceiver(w *worker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A new slice: Shutdown may be ranging over the old one.
	ws := make([]*worker, 0, len(s.ws))
	for _, o := range s.ws {
		if o != w {
			ws = append(ws, o)
		}
	}
	s.ws = ws
}

// run is one receiver. It answers each request itself, calls included, on
// the context the request came on: a call costs no goroutine and no context
// of its own. So that a cancel or an info request is still read while every
// receiver runs a call, a receiver that takes a call when no other is
// waiting starts one more first; after a call, a receiver with enough
// others waiting ends, so a burst leaves no crowd behind.
func (s *Server) run(w *worker) {
	defer s.wg.Done()
	defer s.dropReceiver(w)
	for {
		s.idle.Add(1)
		req, err := w.ctx.RecvMsg()
		waiting := s.idle.Add(-1)
		if err != nil {
			return // context or socket closed
		}
		w.mu.Lock()
		w.busy = true
		w.mu.Unlock()

		call := len(req.Body) > 0 && (wire.MsgType(req.Body[0]) == wire.MsgCall || wire.MsgType(req.Body[0]) == msgShmCall)
		if call && waiting == 0 {
			s.mu.Lock()
			_ = s.startReceiver() // fails only when shutting down
			s.mu.Unlock()
		}
		s.answer(w.ctx, req)

		w.mu.Lock()
		w.busy = false
		closing := w.closing
		w.mu.Unlock()
		if closing || (call && s.idle.Load() >= receivers) {
			_ = w.ctx.Close()
			return
		}
	}
}

// answer handles req and sends the reply on c.
func (s *Server) answer(c mangos.Context, req *mangos.Message) {
	{
		// Small replies reuse mangos' pooled buffers; a large one is sized
		// by handleMessage from the result, not from the request (a 160 MB
		// request may well have an 80 MB reply).
		reply := mangos.NewMessage(min(len(req.Body)+256, replyPrealloc))
		reply.Body = s.handleMessage(s.base, req.Body, reply.Body[:0])
		// The request is not Free()d back to mangos' pool: the handler's
		// arrays aliased its body, and a handler may (wrongly but
		// plausibly) have kept one.
		if err := c.SendMsg(reply); err != nil {
			reply.Free()
			if !errors.Is(err, mangos.ErrClosed) {
				s.logf("send reply: %v", err)
			}
		}
	}
}

// Shutdown stops receiving requests, waits for calls in flight to be
// answered (or for ctx to end, after which their contexts are cancelled),
// then closes the socket and removes ipc socket files. It returns ctx.Err()
// if calls were still running when ctx ended.
func (s *Server) Shutdown(ctx context.Context) error {
	// Under the lock Serve starts its workers with, so every worker (and
	// every wg.Add) is in ws before Shutdown looks, or never starts.
	s.mu.Lock()
	s.shutting = true
	ws := s.ws
	s.mu.Unlock()
	for _, w := range ws {
		w.mu.Lock()
		w.closing = true
		if !w.busy {
			_ = w.ctx.Close()
		}
		w.mu.Unlock()
	}
	idle := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(idle)
	}()
	var err error
	select {
	case <-idle:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.stopped.Do(func() {
		for _, f := range s.onStop {
			f(ctx)
		}
	})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops the server at once: calls in flight have their contexts
// cancelled and their replies are dropped. It closes the socket and removes
// ipc socket files. Calling it again does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	var err error
	if s.sock != nil {
		if cerr := s.sock.Close(); cerr != nil && !errors.Is(cerr, mangos.ErrClosed) {
			err = fmt.Errorf("rgoipc: close socket: %w", cerr)
		}
	}
	// mangos does not always unlink the socket file; leave nothing behind.
	for _, p := range s.ipcPaths {
		if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = fmt.Errorf("rgoipc: remove socket file: %w", rerr)
		}
	}
	close(s.done)
	return err
}
