//go:build !linux

package shm

// Segment is a mapped shared memory segment; on this platform none can be
// made and every call returns ErrUnsupported (callers use the socket path).
type Segment struct{}

// Create returns ErrUnsupported on this platform.
func Create(n uint64) (*Segment, error) { return nil, ErrUnsupported }

// Write returns ErrUnsupported on this platform.
func Write(parts ...[]byte) (Handle, error) { return Handle{}, ErrUnsupported }

// Open returns ErrUnsupported on this platform.
func Open(h Handle, maxLength uint64) (*Segment, error) { return nil, ErrUnsupported }

// Payload returns nil on this platform.
func (s *Segment) Payload() []byte { return nil }

// Handle returns the zero Handle on this platform.
func (s *Segment) Handle() Handle { return Handle{} }

// Name returns "" on this platform.
func (s *Segment) Name() string { return "" }

// Unlink does nothing on this platform.
func (s *Segment) Unlink() error { return nil }

// Close does nothing on this platform.
func (s *Segment) Close() error { return nil }

// Unlink does nothing on this platform.
func Unlink(name string) error { return nil }

// Sweep does nothing on this platform.
func Sweep(pid int) ([]string, error) { return nil, nil }
