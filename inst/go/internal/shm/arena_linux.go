//go:build linux

package shm

import (
	"fmt"
	"os"
	"syscall"
)

// Supported says whether this platform has shared memory segments.
const Supported = true

// Arena is a segment a client reuses for many calls (a warm arena: its pages
// are faulted in once, on both sides, instead of per call). OpenArena checks
// it as Open does, unlinks its name and keeps the open file; each call then
// maps the part it needs with Map. Safe for concurrent Map; Close once.
type Arena struct {
	name   string
	length uint64
	f      *os.File
}

// OpenArena opens, verifies (as Open) and unlinks the arena h names. The
// file stays open until Close, so the memory lives on without a name.
func OpenArena(h Handle, maxLength uint64) (*Arena, error) {
	f, token, err := openChecked(h, maxLength)
	if err != nil {
		return nil, err
	}
	hdr, err := syscall.Mmap(int(f.Fd()), 0, HeaderSize, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("rgoipc: shm: map %s: %w", h.Name, err)
	}
	err = checkHeader(hdr, h, token)
	_ = syscall.Munmap(hdr)
	if err != nil {
		f.Close()
		return nil, err
	}
	_ = syscall.Unlink(dir + h.Name)
	return &Arena{name: h.Name, length: h.Length, f: f}, nil
}

// Name returns the arena's (former) name.
func (a *Arena) Name() string { return a.name }

// Length returns the arena's payload capacity.
func (a *Arena) Length() uint64 { return a.length }

// Map maps payload bytes [off, off+n) privately and writably (copy-on-write:
// a handler writing into its arguments changes only its own copy, and the
// next call's mapping sees the client's bytes again). The returned function
// unmaps it; the slice must not be used afterwards.
func (a *Arena) Map(off, n uint64) ([]byte, func(), error) {
	if off > a.length || n > a.length-off {
		return nil, nil, fmt.Errorf("%w: bytes %d..%d are outside the arena of %d", ErrRefused, off, off+n, a.length)
	}
	if n == 0 {
		return []byte{}, func() {}, nil
	}
	page := uint64(os.Getpagesize())
	start := (HeaderSize + off) / page * page
	skip := HeaderSize + off - start
	mem, err := syscall.Mmap(int(a.f.Fd()), int64(start), int(skip+n), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("rgoipc: shm: map %s: %w", a.name, err)
	}
	return mem[skip : skip+n], func() { _ = syscall.Munmap(mem) }, nil
}

// Close closes the arena's file; mappings made by Map stay valid until
// unmapped.
func (a *Arena) Close() error { return a.f.Close() }
