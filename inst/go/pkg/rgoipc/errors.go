package rgoipc

import (
	"errors"
	"fmt"
)

// Sentinel errors. Functions return them wrapped (test with errors.Is).
var (
	// ErrDuplicate reports a second registration of a function name.
	ErrDuplicate = errors.New("rgoipc: duplicate function name")
	// ErrInvalidSignature reports a signature or Go function that cannot be
	// registered (bad name, unsupported Go type, missing argument names).
	ErrInvalidSignature = errors.New("rgoipc: invalid signature")
	// ErrServerClosed is returned by Serve after Shutdown or Close.
	ErrServerClosed = errors.New("rgoipc: server closed")
)

// Coded returns an error that reads like err and gives the error reply the
// code code, so R can tell this failure from others without matching the
// message (the condition's field "code"). A handler returns it, directly or
// wrapped:
//
//	return nil, rgoipc.Coded("not_found", fmt.Errorf("no user %q", id))
//
// A code is [a-z][a-z0-9_]*, at most 64 bytes; an invalid one is logged and
// sent as "handler", the code of every other handler error. inst/WIRE.md
// lists the codes rgoipc itself uses.
func Coded(code string, err error) error {
	return &codedError{code: code, err: err}
}

type codedError struct {
	code string
	err  error
}

func (e *codedError) Error() string {
	if e.err == nil {
		return e.code
	}
	return e.err.Error()
}

func (e *codedError) Unwrap() error { return e.err }

// errorf wraps sentinel with a formatted detail: "<sentinel>: <detail>".
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
