// Package shm moves large mangoro payloads between processes on one host
// through POSIX shared memory: the sender writes the bytes once into a
// segment, the message carries only a Handle, the receiver maps the segment
// and unlinks its name. The design (naming, header, handle, the unlink
// handshake and cleanup after crashes) is in the wire spec's shared memory
// section.
//
// A segment is named "/mangoro-<creator pid>-<16 hex digits>" (on Linux the
// file /dev/shm/mangoro-...), has mode 0600, and holds a 64-byte header
// followed by the payload:
//
//	0  magic "MANGOSHM"     8 bytes
//	8  version (1)          uint32
//	12 header size (64)     uint32
//	16 payload length       uint64
//	24 segment size         uint64 (header + payload)
//	32 creator pid          uint32
//	36 reserved (0)         4 bytes
//	40 token                8 bytes (the 16 hex digits of the name)
//	48 reserved (0)         16 bytes
//
// All integers are little-endian. Open refuses a segment unless every field
// matches the handle and the file itself.
package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderSize is the size of a segment's header; the payload follows it.
const HeaderSize = 64

// Version is the segment and handle format version.
const Version = 1

// MaxNameLen is the longest segment name a handle may carry.
const MaxNameLen = 48

// handleFixed is the size of a handle before its name.
const handleFixed = 16

var (
	segMagic    = [8]byte{'M', 'A', 'N', 'G', 'O', 'S', 'H', 'M'}
	handleMagic = [4]byte{'M', 'G', 'S', 'H'}
)

// ErrRefused is wrapped by every error about a handle or segment that is not
// what a receiver expects (bad encoding, foreign name, other owner, wrong
// mode, size or header mismatch).
var ErrRefused = errors.New("rgoipc: shm: refused")

// ErrUnsupported is returned on platforms without the shared memory path.
var ErrUnsupported = errors.New("rgoipc: shm: shared memory is not supported on this platform")

// Handle names a segment and the length of its payload; it is what a message
// carries instead of the payload bytes.
type Handle struct {
	Name   string // "/mangoro-<pid>-<16 hex>"
	Length uint64 // payload bytes after the header
}

// AppendBinary appends the encoded handle to b:
//
//	0  magic "MGSH"      4 bytes
//	4  version (1)       uint8
//	5  name length L     uint8 (<= 48)
//	6  reserved (0)      2 bytes
//	8  payload length    uint64, little-endian
//	16 name              L bytes
func (h Handle) AppendBinary(b []byte) []byte {
	b = append(b, handleMagic[:]...)
	b = append(b, Version, byte(len(h.Name)), 0, 0)
	b = binary.LittleEndian.AppendUint64(b, h.Length)
	return append(b, h.Name...)
}

// DecodeHandle decodes an encoded handle strictly: the exact length, the
// version, zero reserved bytes and a name in the mangoro naming scheme.
// maxLength bounds the payload length it accepts. Errors wrap ErrRefused.
func DecodeHandle(b []byte, maxLength uint64) (Handle, error) {
	if len(b) < handleFixed || [4]byte(b[:4]) != handleMagic {
		return Handle{}, fmt.Errorf("%w: not a shared memory handle", ErrRefused)
	}
	if b[4] != Version {
		return Handle{}, fmt.Errorf("%w: handle version %d, want %d", ErrRefused, b[4], Version)
	}
	nl := int(b[5])
	if b[6] != 0 || b[7] != 0 || nl > MaxNameLen || len(b) != handleFixed+nl {
		return Handle{}, fmt.Errorf("%w: malformed handle", ErrRefused)
	}
	h := Handle{Name: string(b[handleFixed:]), Length: binary.LittleEndian.Uint64(b[8:16])}
	if _, _, ok := parseName(h.Name); !ok {
		return Handle{}, fmt.Errorf("%w: %q is not a mangoro segment name", ErrRefused, h.Name)
	}
	if h.Length > maxLength || h.Length > maxPayload {
		return Handle{}, fmt.Errorf("%w: segment of %d bytes is larger than allowed (%d)", ErrRefused, h.Length, maxLength)
	}
	return h, nil
}

// maxPayload bounds any segment (64 TiB), so sizes never overflow.
const maxPayload = 1 << 46

// parseName checks "/mangoro-<pid>-<16 lowercase hex>" (pid 1..10 digits, no
// leading zero, < 2^32) and returns the pid and the 8 token bytes.
func parseName(name string) (pid uint32, token [8]byte, ok bool) {
	const prefix = "/mangoro-"
	if len(name) < len(prefix)+1+1+16 || name[:len(prefix)] != prefix {
		return 0, token, false
	}
	rest := name[len(prefix):]
	i := 0
	var v uint64
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		v = v*10 + uint64(rest[i]-'0')
		i++
		if i > 10 {
			return 0, token, false
		}
	}
	if i == 0 || rest[0] == '0' || v > 0xffffffff || i >= len(rest) || rest[i] != '-' || len(rest)-i-1 != 16 {
		return 0, token, false
	}
	hex := rest[i+1:]
	for k := 0; k < 8; k++ {
		hi, ok1 := unhex(hex[2*k])
		lo, ok2 := unhex(hex[2*k+1])
		if !ok1 || !ok2 {
			return 0, token, false
		}
		token[k] = hi<<4 | lo
	}
	return uint32(v), token, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// putHeader writes a segment header for a payload of n bytes.
func putHeader(b []byte, n uint64, pid uint32, token [8]byte) {
	clear(b[:HeaderSize])
	copy(b, segMagic[:])
	binary.LittleEndian.PutUint32(b[8:], Version)
	binary.LittleEndian.PutUint32(b[12:], HeaderSize)
	binary.LittleEndian.PutUint64(b[16:], n)
	binary.LittleEndian.PutUint64(b[24:], n+HeaderSize)
	binary.LittleEndian.PutUint32(b[32:], pid)
	copy(b[40:48], token[:])
}

// checkHeader verifies a mapped segment's header against its handle.
func checkHeader(b []byte, h Handle, token [8]byte) error {
	if len(b) < HeaderSize || [8]byte(b[:8]) != segMagic ||
		binary.LittleEndian.Uint32(b[8:]) != Version ||
		binary.LittleEndian.Uint32(b[12:]) != HeaderSize ||
		binary.LittleEndian.Uint64(b[16:]) != h.Length ||
		binary.LittleEndian.Uint64(b[24:]) != h.Length+HeaderSize ||
		[8]byte(b[40:48]) != token {
		return fmt.Errorf("%w: the segment's header does not match its handle", ErrRefused)
	}
	return nil
}
