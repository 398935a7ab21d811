//go:build !linux

package shm

// Supported says whether this platform has shared memory segments.
const Supported = false

// Arena is not supported on this platform; OpenArena says so.
type Arena struct{}

// OpenArena returns ErrUnsupported.
func OpenArena(h Handle, maxLength uint64) (*Arena, error) { return nil, ErrUnsupported }

// Name returns "".
func (a *Arena) Name() string { return "" }

// Length returns 0.
func (a *Arena) Length() uint64 { return 0 }

// Map returns ErrUnsupported.
func (a *Arena) Map(off, n uint64) ([]byte, func(), error) { return nil, nil, ErrUnsupported }

// Close does nothing.
func (a *Arena) Close() error { return nil }
