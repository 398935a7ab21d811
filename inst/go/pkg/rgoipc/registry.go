package rgoipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"mangoro/internal/wire"
)

// Handler serves calls of one function, like http.Handler serves requests.
//
// ServeArrow receives the validated arguments and returns the result
// record. Memory: args and every array reached through it belong to the
// server and are released after the reply is written; the handler must not
// release them, and must Retain anything it returns or keeps (e.g. to echo
// an input column). The returned record's reference passes to the server,
// which releases it after writing the reply. On error the handler returns a
// nil record (a non-nil one is released too).
type Handler interface {
	ServeArrow(ctx context.Context, args *Args) (arrow.RecordBatch, error)
}

// HandlerFunc adapts an ordinary function to Handler.
type HandlerFunc func(ctx context.Context, args *Args) (arrow.RecordBatch, error)

// ServeArrow calls f(ctx, args).
func (f HandlerFunc) ServeArrow(ctx context.Context, args *Args) (arrow.RecordBatch, error) {
	return f(ctx, args)
}

// Registry maps function names to handlers and signatures, like
// http.ServeMux maps paths. It is safe for concurrent use; functions may be
// registered while serving.
//
// A registration that fails returns its error and is also remembered: a
// Server refuses to listen while any is remembered (so Main exits with
// them), because a program that ignored the error would otherwise serve
// without the function and nobody would know why.
type Registry struct {
	mu       sync.RWMutex
	funcs    map[string]*entry
	manifest []byte  // cached, reset by every registration
	names    string  // "a, b, c" for unknown-function errors
	failed   []error // registration errors, reported by err
}

type entry struct {
	name string
	sig  Signature
	h    Handler
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{funcs: map[string]*entry{}}
}

// Handle registers h under name with signature sig, adjusted by opts.
// Registering a name twice returns an error wrapping ErrDuplicate; an
// invalid signature returns one wrapping ErrInvalidSignature.
func (r *Registry) Handle(name string, sig Signature, h Handler, opts ...FuncOption) error {
	return r.remember(r.handle(name, sig, h, opts))
}

// remember keeps a registration error for err and returns it.
func (r *Registry) remember(err error) error {
	if err != nil {
		r.mu.Lock()
		r.failed = append(r.failed, err)
		r.mu.Unlock()
	}
	return err
}

// err returns every registration error so far, joined, or nil.
func (r *Registry) err() error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return errors.Join(r.failed...)
}

func (r *Registry) handle(name string, sig Signature, h Handler, opts []FuncOption) error {
	if h == nil {
		return fmt.Errorf("%w: %q: nil handler", ErrInvalidSignature, name)
	}
	// Options must not write to the caller's slice or map.
	sig.Args = append([]Arg(nil), sig.Args...)
	meta := make(map[string]string, len(sig.Metadata)+1)
	for k, v := range sig.Metadata {
		meta[k] = v
	}
	sig.Metadata = meta
	for _, o := range opts {
		if err := o(&sig); err != nil {
			return fmt.Errorf("rgoipc: register %q: %w", name, err)
		}
	}
	if why := wire.CheckName(name); why != "" {
		return fmt.Errorf("%w: function name %s %s", ErrInvalidSignature, wire.QuoteName(name), why)
	}
	if err := sig.validate(); err != nil {
		return fmt.Errorf("rgoipc: register %q: %w", name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.funcs[name]; dup {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	r.funcs[name] = &entry{name: name, sig: sig, h: h}
	r.manifest = nil
	r.names = strings.Join(r.sortedNames(), ", ")
	return nil
}

// HandleFunc registers f like Handle(name, sig, HandlerFunc(f), opts...).
func (r *Registry) HandleFunc(name string, sig Signature, f func(ctx context.Context, args *Args) (arrow.RecordBatch, error), opts ...FuncOption) error {
	if f == nil {
		return r.remember(fmt.Errorf("%w: %q: nil handler", ErrInvalidSignature, name))
	}
	return r.Handle(name, sig, HandlerFunc(f), opts...)
}

func (r *Registry) sortedNames() []string {
	names := make([]string, 0, len(r.funcs))
	for n := range r.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// len returns the number of registered functions.
func (r *Registry) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.funcs)
}

// signature returns the signature registered under name.
func (r *Registry) signature(name string) (Signature, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.funcs[name]
	if !ok {
		return Signature{}, false
	}
	return e.sig, true
}

// manifestJSON returns the manifest JSON (WIRE.md, "Manifest"): an object
// mapping each function name to its signature. Keys are sorted, so the
// bytes are stable. The result is cached; callers must not modify it.
func (r *Registry) manifestJSON() ([]byte, error) {
	r.mu.RLock()
	m := r.manifest
	r.mu.RUnlock()
	if m != nil {
		return m, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.manifest != nil {
		return r.manifest, nil
	}
	out := make(map[string]Signature, len(r.funcs))
	for n, e := range r.funcs {
		out[n] = e.sig.manifestEntry()
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("rgoipc: manifest: %w", err)
	}
	r.manifest = b
	return b, nil
}

// lookup returns the entry for name, or an error naming what exists.
func (r *Registry) lookup(name string) (*entry, error) {
	r.mu.RLock()
	e, ok := r.funcs[name]
	names := r.names
	r.mu.RUnlock()
	if !ok {
		return nil, &callError{
			msg:  fmt.Sprintf("unknown function %q; available: %s", name, names),
			code: wire.CodeUnknownFunction,
		}
	}
	return e, nil
}

// callError is an error whose message goes to the client verbatim, with
// its error code (WIRE.md, "Error replies"). The protocol wants messages
// that start with the function name rather than "rgoipc:", so these are
// the one place that prefix is not used.
type callError struct {
	msg  string
	code string
}

func (e *callError) Error() string { return e.msg }

// argError reports an argument problem as "<fn>: argument "<arg>": <detail>".
func argError(fn, arg, format string, a ...any) error {
	return &callError{
		msg:  fmt.Sprintf("%s: argument %q: %s", fn, arg, fmt.Sprintf(format, a...)),
		code: wire.CodeBadArguments,
	}
}
