//go:build linux

package shm

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// dir is where Linux keeps POSIX shared memory objects (glibc's shm_open
// opens dir + name).
const dir = "/dev/shm"

// Segment is a mapped shared memory segment. The creator writes Payload and
// sends Handle; the receiver gets one from Open. Close unmaps it: slices of
// Payload must not be used afterwards. A Segment is not safe for concurrent
// Close.
type Segment struct {
	name    string
	mem     []byte // the whole mapping
	created bool
}

// Create makes a new segment for n payload bytes (mode 0600, a fresh random
// name, mapped shared and writable). Its name stays until the receiver's
// Open, or Unlink, removes it.
func Create(n uint64) (*Segment, error) {
	f, name, token, err := createFile(n)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := n + HeaderSize
	if err := f.Truncate(int64(size)); err != nil {
		return nil, removeFailed(name, err)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, removeFailed(name, err)
	}
	putHeader(mem, n, uint32(os.Getpid()), token)
	return &Segment{name: name, mem: mem, created: true}, nil
}

// Write makes a new segment (as Create) whose payload is parts, one after
// the other, and returns its handle; nothing stays mapped. It writes through
// the file instead of a mapping: the kernel then fills fresh pages without a
// page fault or a zeroing pass for each, which for large payloads is about
// twice as fast as Create and a copy.
func Write(parts ...[]byte) (Handle, error) {
	var n uint64
	for _, p := range parts {
		n += uint64(len(p))
	}
	f, name, token, err := createFile(n)
	if err != nil {
		return Handle{}, err
	}
	defer f.Close()
	var hdr [HeaderSize]byte
	putHeader(hdr[:], n, uint32(os.Getpid()), token)
	if _, err := f.Write(hdr[:]); err != nil {
		return Handle{}, removeFailed(name, err)
	}
	for _, p := range parts {
		if _, err := f.Write(p); err != nil { // os.File.Write loops until all is written
			return Handle{}, removeFailed(name, err)
		}
	}
	return Handle{Name: name, Length: n}, nil
}

// createFile creates the file of a new segment for n payload bytes: mode
// exactly 0600, a fresh random name. Failures after it is made remove it.
func createFile(n uint64) (*os.File, string, [8]byte, error) {
	var token [8]byte
	if n > maxPayload {
		return nil, "", token, fmt.Errorf("rgoipc: shm: payload of %d bytes is too large", n)
	}
	var (
		f    *os.File
		name string
		err  error
	)
	pid := os.Getpid()
	for attempt := 0; attempt < 4; attempt++ {
		if _, err = rand.Read(token[:]); err != nil {
			return nil, "", token, fmt.Errorf("rgoipc: shm: segment name: %w", err)
		}
		name = "/mangoro-" + strconv.Itoa(pid) + "-" + hex.EncodeToString(token[:])
		f, err = os.OpenFile(dir+name, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if err != nil {
		return nil, "", token, fmt.Errorf("rgoipc: shm: create: %w", err)
	}
	// The umask may have cleared bits; the mode must be exactly 0600.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, "", token, removeFailed(name, err)
	}
	return f, name, token, nil
}

// removeFailed removes a segment whose making failed and wraps why.
func removeFailed(name string, err error) error {
	_ = syscall.Unlink(dir + name)
	return fmt.Errorf("rgoipc: shm: create %s: %w", name, err)
}

// Open maps the segment h names after verifying it: the naming scheme, a
// regular file owned by this user with mode 0600, a size of exactly
// HeaderSize + h.Length (and h.Length <= maxLength), and a header that
// matches. It then unlinks the name, so nothing is left in /dev/shm once both
// sides hold their mappings. The mapping is private and writable: writes stay
// in this process. Refusals wrap ErrRefused.
func Open(h Handle, maxLength uint64) (*Segment, error) {
	f, token, err := openChecked(h, maxLength)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Not MAP_POPULATE: on a writable private mapping it would copy every
	// page to break copy-on-write; lazy read faults cost only what is read.
	size := h.Length + HeaderSize
	mem, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("rgoipc: shm: map %s: %w", h.Name, err)
	}
	if err := checkHeader(mem, h, token); err != nil {
		_ = syscall.Munmap(mem)
		return nil, err
	}
	// Both sides hold it now: the name has done its job.
	_ = syscall.Unlink(dir + h.Name)
	return &Segment{name: h.Name, mem: mem}, nil
}

// openChecked opens the segment h names read-only and checks what Open
// documents, short of the header; the caller closes the file.
func openChecked(h Handle, maxLength uint64) (*os.File, [8]byte, error) {
	_, token, ok := parseName(h.Name)
	if !ok {
		return nil, token, fmt.Errorf("%w: %q is not a mangoro segment name", ErrRefused, h.Name)
	}
	if h.Length > maxLength || h.Length > maxPayload {
		return nil, token, fmt.Errorf("%w: segment of %d bytes is larger than allowed (%d)", ErrRefused, h.Length, maxLength)
	}
	f, err := os.OpenFile(dir+h.Name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, token, fmt.Errorf("%w: open %s: %w", ErrRefused, h.Name, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, token, fmt.Errorf("rgoipc: shm: stat %s: %w", h.Name, err)
	}
	size := h.Length + HeaderSize
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		err = fmt.Errorf("%w: %s is not a regular shared memory object", ErrRefused, h.Name)
	case st.Uid != uint32(os.Getuid()):
		err = fmt.Errorf("%w: %s belongs to another user (uid %d)", ErrRefused, h.Name, st.Uid)
	case st.Mode&0o7777 != 0o600:
		err = fmt.Errorf("%w: %s has mode %04o, want 0600", ErrRefused, h.Name, st.Mode&0o7777)
	case uint64(st.Size) != size:
		err = fmt.Errorf("%w: %s has %d bytes, its handle says %d", ErrRefused, h.Name, st.Size, size)
	}
	if err != nil {
		f.Close()
		return nil, token, err
	}
	return f, token, nil
}

// Payload returns the payload bytes (valid until Close).
func (s *Segment) Payload() []byte { return s.mem[HeaderSize:] }

// Handle returns the handle a message carries for this segment.
func (s *Segment) Handle() Handle {
	return Handle{Name: s.name, Length: uint64(len(s.mem) - HeaderSize)}
}

// Name returns the segment's name.
func (s *Segment) Name() string { return s.name }

// Unlink removes the segment's name; a name already removed (by the
// receiver's Open) is not an error.
func (s *Segment) Unlink() error { return Unlink(s.name) }

// Close unmaps the segment (the name, if still there, stays: see Unlink).
// Calling it twice is safe.
func (s *Segment) Close() error {
	if s.mem == nil {
		return nil
	}
	err := syscall.Munmap(s.mem)
	s.mem = nil
	if err != nil {
		return fmt.Errorf("rgoipc: shm: unmap %s: %w", s.name, err)
	}
	return nil
}

// Unlink removes a segment name; an absent one is not an error.
func Unlink(name string) error {
	if _, _, ok := parseName(name); !ok {
		return fmt.Errorf("%w: %q is not a mangoro segment name", ErrRefused, name)
	}
	if err := syscall.Unlink(dir + name); err != nil && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("rgoipc: shm: unlink %s: %w", name, err)
	}
	return nil
}

// Sweep removes this user's segments left by a process that is gone: with
// pid > 0 those created by pid (a peer known to have exited, alive or not by
// now), with pid == 0 those of every creator that no longer runs. It returns
// the names removed.
func Sweep(pid int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("rgoipc: shm: sweep: %w", err)
	}
	self, uid := os.Getpid(), uint32(os.Getuid())
	var removed []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "mangoro-") {
			continue
		}
		name := "/" + e.Name()
		creator, _, ok := parseName(name)
		if !ok {
			continue
		}
		if pid > 0 && int(creator) != pid {
			continue
		}
		if pid <= 0 && (int(creator) == self || alive(int(creator))) {
			continue
		}
		var st syscall.Stat_t
		if syscall.Lstat(dir+name, &st) != nil || st.Uid != uid {
			continue
		}
		if syscall.Unlink(dir+name) == nil {
			removed = append(removed, name)
		}
	}
	return removed, nil
}

// alive reports whether a process exists (EPERM: it does, another user's).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || !errors.Is(err, syscall.ESRCH)
}
