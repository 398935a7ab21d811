package httpserve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// Sentinel errors: Manager's errors wrap one of them (test with
// errors.Is); their messages are written for the R user and do not repeat
// the sentinel's text.
var (
	ErrAlreadyRunning = errors.New("httpserve: already running")
	ErrNotRunning     = errors.New("httpserve: not running")
	ErrAddrInUse      = errors.New("httpserve: address in use")
	ErrBadConfig      = errors.New("httpserve: invalid configuration")
	ErrListen         = errors.New("httpserve: cannot listen")
)

// kindError is a message plus the sentinel it stands for and the error
// code R sees (inst/WIRE.md, "Error replies"): addr_in_use,
// already_running, not_running, dir, tls or addr.
type kindError struct {
	kind error
	code string
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, code, format string, args ...any) error {
	return &kindError{kind: kind, code: code, msg: fmt.Sprintf(format, args...)}
}

// Switch is a server option that is on, off, or left to the default for
// the address the server binds (see Config).
type Switch int8

// Values of a Switch.
const (
	Auto Switch = iota // on for a loopback address, off for any other
	On
	Off
)

// resolve says whether s is on for a server bound to a loopback address
// (loopback true) or to any other.
func (s Switch) resolve(loopback bool) bool {
	switch s {
	case On:
		return true
	case Off:
		return false
	}
	return loopback
}

// Config describes one server for Manager.Start.
type Config struct {
	// Options says what is served. Its Listing and Dotfiles are set by
	// Start from the Switches of the same names below.
	Options
	// Addr is "host:port", ":port" or "port"; a missing host means
	// 127.0.0.1 and port 0 picks a free port.
	Addr string
	// TLS serves HTTPS with CertFile and KeyFile (PEM).
	TLS               bool
	CertFile, KeyFile string
	// Silent turns off the request log.
	Silent bool
	// Listing and Dotfiles choose Options.Listing and Options.Dotfiles.
	// Auto (the zero value) turns both on when the bound address is a
	// loopback one, as net/http's FileServer does and as a local preview
	// expects, and off for any other address (0.0.0.0, a LAN address):
	// there, anyone on the network could read a listing of every file or
	// secrets kept in dotfiles (.env, .git), so exposing them must be asked
	// for with On.
	Listing, Dotfiles Switch
}

// States in Status.State.
const (
	StateRunning = "running"
	StateStopped = "stopped"
)

// Status describes one server.
type Status struct {
	State string // StateRunning or StateStopped
	// Message is one line for people: "HTTP server started on ADDR" from
	// Start, "running at ADDR" (or "stopped") from Status, "HTTP server
	// stopped" from Stop.
	Message string
	Addr    string // the bound address, "" when none
	URL     string // where the files are, e.g. "https://127.0.0.1:8443/data/"
	Dir     string
	Prefix  string
	TLS     bool
}

// Manager runs HTTP(S) servers keyed by the address each one bound. Its
// methods may be called concurrently.
type Manager struct {
	logger *log.Logger

	mu      sync.Mutex
	servers map[string]*server // by bound address
}

type server struct {
	cfg    Config
	asked  string // the normalised address asked for
	status Status
	srv    *http.Server
	done   chan struct{} // closed when Serve has returned
}

// NewManager returns a Manager logging to logger (requests, unless a
// server is Silent, and server errors).
func NewManager(logger *log.Logger) *Manager {
	return &Manager{logger: logger, servers: map[string]*server{}}
}

// NormalizeAddr turns "8080" and ":8080" into "127.0.0.1:8080", so that a
// bare port never exposes files to the network by accident, and checks the
// port.
func NormalizeAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", errorf(ErrBadConfig, "addr", "addr is empty; give \"host:port\" or a port, e.g. \"127.0.0.1:8080\", or \"0\" for a free port")
	}
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", errorf(ErrBadConfig, "addr", "addr %q: want \"host:port\" or a port number", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return "", errorf(ErrBadConfig, "addr", "addr %q: bad port %q", addr, port)
	}
	return net.JoinHostPort(host, port), nil
}

// Start checks cfg, binds its address and serves in the background. It
// returns once the listener is bound, so a client may connect at once;
// Status.Addr and Status.URL carry the real port when cfg.Addr asked for 0.
func (m *Manager) Start(cfg Config) (Status, error) {
	addr, err := NormalizeAddr(cfg.Addr)
	if err != nil {
		return Status{}, err
	}
	// Checked before binding, with the options set later from the bound
	// address: only Listing and Dotfiles depend on it.
	if _, err := NewHandler(cfg.Options); err != nil {
		return Status{}, &kindError{kind: ErrBadConfig, code: "dir", msg: err.Error()}
	}
	var tlsConfig *tls.Config
	if cfg.TLS {
		if tlsConfig, err = loadTLS(cfg.CertFile, cfg.KeyFile); err != nil {
			return Status{}, err
		}
	} else if cfg.CertFile != "" || cfg.KeyFile != "" {
		return Status{}, errorf(ErrBadConfig, "tls", "cert and key are only used with tls = TRUE")
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if !strings.HasSuffix(addr, ":0") {
		if s := m.lookup(addr); s != nil {
			return Status{}, errorf(ErrAlreadyRunning, "already_running", "an HTTP server is already running at %s (serving %s)",
				s.status.URL, s.status.Dir)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if isAddrInUse(err) {
			return Status{}, errorf(ErrAddrInUse, "addr_in_use", "address %s is already in use; choose another port, or port 0 for a free one", addr)
		}
		return Status{}, errorf(ErrListen, "addr", "cannot listen on %s: %v", addr, err)
	}
	loopback := isLoopback(ln.Addr())
	cfg.Options.Listing = cfg.Listing.resolve(loopback)
	cfg.Options.Dotfiles = cfg.Dotfiles.resolve(loopback)
	h, err := NewHandler(cfg.Options)
	if err != nil {
		_ = ln.Close()
		return Status{}, &kindError{kind: ErrBadConfig, code: "dir", msg: err.Error()}
	}
	fh := h.(*fileHandler)
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	bound := ln.Addr().String()
	scheme := "http"
	if cfg.TLS {
		scheme = "https"
	}
	handler := h
	if !cfg.Silent {
		handler = LogRequests(h, m.logger)
	}
	s := &server{
		cfg:   cfg,
		asked: addr,
		srv: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          m.logger,
		},
		done: make(chan struct{}),
	}
	s.status = Status{
		State:  StateRunning,
		Addr:   bound,
		URL:    scheme + "://" + urlHost(ln.Addr(), addr) + fh.prefix,
		Dir:    fh.root,
		Prefix: fh.prefix,
		TLS:    cfg.TLS,
	}
	s.status.Message = "running at " + bound
	m.servers[bound] = s
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.logger.Printf("server at %s failed: %v", bound, err)
			m.mu.Lock()
			delete(m.servers, bound)
			m.mu.Unlock()
		}
	}()
	m.logger.Printf("serving %s at %s (listing %s, dotfiles %s)", s.status.Dir, s.status.URL,
		onOff(fh.opts.Listing), onOff(fh.opts.Dotfiles))
	st := s.status
	st.Message = "HTTP server started on " + bound
	return st, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// isLoopback says whether a listener's address is a loopback one
// (127.0.0.0/8, ::1); the unspecified address (0.0.0.0, ::) is not.
func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// urlHost is the host:port for a URL: an unspecified address becomes the
// loopback one, which is where a local client connects. Go binds
// "0.0.0.0:port" dual-stack and reports it as "[::]:port", so the family
// asked for (in asked, the normalised address) picks 127.0.0.1 or ::1.
func urlHost(a net.Addr, asked string) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip.IsUnspecified() {
		ip = net.IPv6loopback
		if host, _, err := net.SplitHostPort(asked); err == nil {
			if h := net.ParseIP(host); h != nil && h.To4() != nil {
				ip = net.IPv4(127, 0, 0, 1)
			}
		}
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errorf(ErrBadConfig, "tls", "tls = TRUE needs both cert and key (PEM files)")
	}
	for _, f := range []struct{ what, path string }{{"cert", certFile}, {"key", keyFile}} {
		if _, err := os.Stat(f.path); errors.Is(err, fs.ErrNotExist) {
			return nil, errorf(ErrBadConfig, "tls", "%s file %q does not exist", f.what, f.path)
		}
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, errorf(ErrBadConfig, "tls", "cannot load the TLS certificate %q and key %q: %v", certFile, keyFile, err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// lookup finds a server by bound address or by the address it was asked
// for ("localhost:8080"); callers hold m.mu.
func (m *Manager) lookup(addr string) *server {
	if s, ok := m.servers[addr]; ok {
		return s
	}
	for _, s := range m.servers {
		if s.asked == addr {
			return s
		}
	}
	return nil
}

// find returns the servers addr names ("" = all of them).
func (m *Manager) find(addr string) ([]*server, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if addr == "" {
		out := make([]*server, 0, len(m.servers))
		for _, s := range m.servers {
			out = append(out, s)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].status.Addr < out[j].status.Addr })
		return out, nil
	}
	norm, err := NormalizeAddr(addr)
	if err != nil {
		return nil, err
	}
	if s := m.lookup(norm); s != nil {
		return []*server{s}, nil
	}
	return nil, nil
}

// Status reports the server at addr, or every server when addr is "".
// With none, it returns one Status with State "stopped".
func (m *Manager) Status(addr string) ([]Status, error) {
	found, err := m.find(addr)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return []Status{{State: StateStopped, Message: StateStopped}}, nil
	}
	out := make([]Status, len(found))
	for i, s := range found {
		out[i] = s.status
	}
	return out, nil
}

// Stop shuts down the server at addr, or every server when addr is "":
// it stops accepting, lets requests in flight finish until ctx ends, then
// closes what is left. Stopping when nothing runs is fine with addr "" and
// an ErrNotRunning error for a named address.
func (m *Manager) Stop(ctx context.Context, addr string) ([]Status, error) {
	found, err := m.find(addr)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		if addr != "" {
			return nil, errorf(ErrNotRunning, "not_running", "no HTTP server is running at %s%s", addr, m.runningList())
		}
		return []Status{{State: StateStopped, Message: "no HTTP server was running"}}, nil
	}
	out := make([]Status, len(found))
	for i, s := range found {
		out[i] = m.stop(ctx, s)
	}
	return out, nil
}

func (m *Manager) stop(ctx context.Context, s *server) Status {
	st := s.status
	st.State = StateStopped
	st.Message = "HTTP server stopped"
	if err := s.srv.Shutdown(ctx); err != nil {
		// The grace period ended with downloads still going.
		_ = s.srv.Close()
		st.Message += fmt.Sprintf(" (%v: open connections were closed)", err)
	}
	<-s.done
	m.mu.Lock()
	delete(m.servers, s.status.Addr)
	m.mu.Unlock()
	m.logger.Printf("stopped %s", st.URL)
	return st
}

// Close stops every server at once, without a grace period.
func (m *Manager) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = m.Stop(ctx, "")
}

func (m *Manager) runningList() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.servers) == 0 {
		return " (none is running)"
	}
	addrs := make([]string, 0, len(m.servers))
	for a := range m.servers {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	return " (running: " + strings.Join(addrs, ", ") + ")"
}
