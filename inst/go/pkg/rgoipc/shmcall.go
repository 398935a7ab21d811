package rgoipc

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"time"

	"mangoro/internal/shm"
	"mangoro/internal/wire"
)

// The shared memory path (inst/WIRE.md, "Shared memory"): a call whose
// Arrow stream lies in a client's arena, a segment the client reuses for
// many calls. The server opens an arena the first time it sees it (which
// unlinks its name), keeps the open file, and maps the bytes of each call
// privately while the call runs; the stream is read in place, as from a
// socket message.

// msgShmCall is message type 6: a call whose arguments are in an arena.
const msgShmCall wire.MsgType = 6

// msgShmResult is message type 7: a result whose Arrow stream is in a
// segment the server made for it; the payload is the segment's handle.
const msgShmResult wire.MsgType = 7

// claimWindow is how long a result segment keeps its name for the client
// to take it (the client maps it the moment the reply arrives); after that
// the server removes it (the client gave up: timeout, interrupt).
const claimWindow = 10 * time.Second

// codeShmRefused is the error code of a shared memory call the server
// cannot or will not read; the handler did not run.
const codeShmRefused = "shm_refused"

// maxArenas bounds the arenas a process keeps open; the oldest is closed
// first (its client gets shm_refused and makes a new one).
const maxArenas = 32

// arenas holds the arenas of every client, by (former) name.
var arenas arenaTable

type arenaTable struct {
	mu    sync.Mutex
	byKey map[string]*shm.Arena
	order []string
}

// get returns the arena h names: an open one, or one opened (and unlinked)
// now.
func (t *arenaTable) get(h shm.Handle, max uint64) (*shm.Arena, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a := t.byKey[h.Name]; a != nil {
		if a.Length() != h.Length {
			return nil, fmt.Errorf("%w: arena %s has %d bytes, the handle says %d", shm.ErrRefused, h.Name, a.Length(), h.Length)
		}
		return a, nil
	}
	a, err := shm.OpenArena(h, max)
	if err != nil {
		return nil, err
	}
	if t.byKey == nil {
		t.byKey = make(map[string]*shm.Arena)
	}
	if len(t.order) >= maxArenas {
		old := t.order[0]
		t.order = t.order[1:]
		_ = t.byKey[old].Close() // calls mapped from it keep their mappings
		delete(t.byKey, old)
	}
	t.byKey[h.Name] = a
	t.order = append(t.order, h.Name)
	return a, nil
}

// shmFeatures is what the info reply's "features" gains for the shared
// memory path: "shm" on platforms that have it unless MANGORO_SHM=0.
func shmFeatures() []string {
	if !shm.Supported || os.Getenv("MANGORO_SHM") == "0" {
		return nil
	}
	return []string{"shm"}
}

// shmCall answers a type 6 message: payload = offset u64, length u64,
// reply minimum u64 (little-endian), then the arena's handle. A result
// stream of at least the reply minimum (0: never) comes back as type 7.
func (s *Server) shmCall(ctx context.Context, hdr wire.Header, env *wire.Envelope, dst []byte) []byte {
	name := env.Name
	if why := wire.CheckName(name); why != "" {
		return wire.AppendError(dst, "", fmt.Sprintf("rgoipc: function name %s %s", wire.QuoteName(name), why), wire.CodeBadName)
	}
	refuse := func(err error) []byte {
		return wire.AppendError(dst, name, fmt.Sprintf("%s: shared memory call refused: %v", name, err), codeShmRefused)
	}
	if len(shmFeatures()) == 0 {
		return refuse(shm.ErrUnsupported)
	}
	p := env.Payload
	if len(p) < 24 {
		return refuse(fmt.Errorf("%w: the payload has %d bytes, fewer than 24", shm.ErrRefused, len(p)))
	}
	off, n, replyMin := binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[8:]), binary.LittleEndian.Uint64(p[16:])
	if n > uint64(s.maxMsg) {
		return wire.AppendError(dst, name, fmt.Sprintf("rgoipc: request of %d bytes is over the limit of %d", n, s.maxMsg), wire.CodeTooLarge)
	}
	h, err := shm.DecodeHandle(p[24:], maxArenaBytes(s.maxMsg))
	if err != nil {
		return refuse(err)
	}
	a, err := arenas.get(h, maxArenaBytes(s.maxMsg))
	if err != nil {
		return refuse(err)
	}
	stream, unmap, err := a.Map(off, n)
	if err != nil {
		return refuse(err)
	}
	// Results may alias their arguments: the mapping stays until the reply
	// is written.
	defer unmap()
	unclaimedResults.reap(time.Now())
	if replyMin == 0 {
		return s.callWithHeader(ctx, hdr, name, stream, dst, nil)
	}
	var d detached
	defer d.release()
	reply := s.callWithHeader(ctx, hdr, name, stream, dst, &d)
	if len(reply) <= len(dst) || wire.MsgType(reply[len(dst)]) != wire.MsgResult {
		return reply // an error: nothing detached
	}
	res, err := wire.Decode(reply[len(dst):])
	if err != nil || uint64(len(res.Payload)+d.size()) < replyMin {
		return d.fill(reply)
	}
	seg, err := shm.Write(d.parts(reply, len(reply)-len(res.Payload))...)
	if err != nil {
		return d.fill(reply) // the socket path still works
	}
	unclaimedResults.add(seg.Name, time.Now())
	return (&wire.Envelope{Type: msgShmResult, Name: name, Payload: seg.AppendBinary(nil)}).Encode(dst)
}

// unclaimedResults holds the names of result segments not yet taken for sure.
var unclaimedResults unclaimed

type unclaimed struct {
	mu    sync.Mutex
	names []string
	at    []time.Time
}

func (u *unclaimed) add(name string, t time.Time) {
	u.mu.Lock()
	u.names = append(u.names, name)
	u.at = append(u.at, t)
	u.mu.Unlock()
}

// reap removes the names older than claimWindow (already gone when the
// client took them).
func (u *unclaimed) reap(now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := 0
	for k < len(u.names) && now.Sub(u.at[k]) > claimWindow {
		_ = shm.Unlink(u.names[k])
		k++
	}
	u.names, u.at = u.names[k:], u.at[k:]
}

// maxArenaBytes is the largest arena a server opens: twice its message
// limit (an arena grows by doubling), at least 64 MiB.
func maxArenaBytes(maxMsg int64) uint64 {
	m := uint64(2 * maxMsg)
	if m < 64<<20 {
		m = 64 << 20
	}
	return m
}
