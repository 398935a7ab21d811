package rgoipc

import (
	"errors"
	"fmt"
)

// Sentinel errors. Functions return them wrapped (test with errors.Is).
var (
	// ErrMalformed reports an envelope or Arrow stream that cannot be
	// decoded: truncated, inconsistent lengths, or garbage.
	ErrMalformed = errors.New("rgoipc: malformed message")
	// ErrDuplicate reports a second registration of a function name.
	ErrDuplicate = errors.New("rgoipc: duplicate function name")
	// ErrInvalidSignature reports a signature or Go function that cannot be
	// registered (bad name, unsupported Go type, missing argument names).
	ErrInvalidSignature = errors.New("rgoipc: invalid signature")
	// ErrUnknownFunction reports a call to a name that is not registered.
	ErrUnknownFunction = errors.New("rgoipc: unknown function")
	// ErrArgument reports call arguments that do not match the signature.
	ErrArgument = errors.New("rgoipc: invalid argument")
	// ErrServerClosed is returned by Serve after Shutdown or Close.
	ErrServerClosed = errors.New("rgoipc: server closed")
)

// errorf wraps sentinel with a formatted detail: "<sentinel>: <detail>".
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
