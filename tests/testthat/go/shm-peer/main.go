// Command shm-peer exercises mangoro's shared memory segments from Go for
// the R tests and bench/floors.R, before they are wired into the message
// layer. One rep socket; each request is one op byte then its argument:
//
//	's' handle     open the segment, reply "ok" + the float64 sum of its payload
//	'b' bytes      the socket path of the same work: reply "ok" + the sum
//	'a' handle     payload = x then y (n float64 each): write x + y into a new
//	               segment, reply "ok" + its handle
//	'm' uint64 n   make a segment of n float64 (i + 0.5), reply "ok" + handle
//	'w' uint64 pid sweep the segments of pid, reply "ok" + uint64 count
//
// Errors are "refused: ..." or "error: ...". Usage: shm-peer <url>. It prints
// "mangoro-ready <url>" and exits when stdin closes; then it removes the
// segments it made that nobody took, and those of its parent if it is gone.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"os"

	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/rep"
	_ "go.nanomsg.org/mangos/v3/transport/all"

	"mangoro/internal/shm"
)

const maxLen = 1 << 32

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: shm-peer <url>")
	}
	sock, err := rep.NewSocket()
	if err != nil {
		log.Fatal(err)
	}
	if err := sock.SetOption(mangos.OptionMaxRecvSize, 1<<31-1); err != nil {
		log.Fatal(err)
	}
	if err := sock.Listen(os.Args[1]); err != nil {
		log.Fatal(err)
	}
	parent := os.Getppid()
	fmt.Printf("mangoro-ready %s\n", os.Args[1])
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = sock.Close()
	}()
	for {
		msg, err := sock.Recv()
		if errors.Is(err, mangos.ErrClosed) {
			break
		} else if err != nil {
			continue
		}
		_ = sock.Send(answer(msg))
	}
	_, _ = shm.Sweep(os.Getpid())
	if os.Getppid() != parent {
		_, _ = shm.Sweep(parent)
	}
}

func answer(msg []byte) []byte {
	if len(msg) == 0 {
		return []byte("error: empty request")
	}
	arg := msg[1:]
	switch msg[0] {
	case 's', 'a':
		h, err := shm.DecodeHandle(arg, maxLen)
		if err != nil {
			return []byte("refused: " + err.Error())
		}
		seg, err := shm.Open(h, maxLen)
		if err != nil {
			if errors.Is(err, shm.ErrRefused) {
				return []byte("refused: " + err.Error())
			}
			return []byte("error: " + err.Error())
		}
		defer seg.Close()
		if msg[0] == 's' {
			return ok(binary.LittleEndian.AppendUint64(nil, math.Float64bits(sum(seg.Payload()))))
		}
		return add(seg.Payload())
	case 'b':
		return ok(binary.LittleEndian.AppendUint64(nil, math.Float64bits(sum(arg))))
	case 'm':
		if len(arg) != 8 {
			return []byte("error: want a uint64")
		}
		n := binary.LittleEndian.Uint64(arg)
		seg, err := shm.Create(8 * n)
		if err != nil {
			return []byte("error: " + err.Error())
		}
		defer seg.Close()
		p := seg.Payload()
		for i := uint64(0); i < n; i++ {
			binary.LittleEndian.PutUint64(p[8*i:], math.Float64bits(float64(i)+0.5))
		}
		return ok(seg.Handle().AppendBinary(nil))
	case 'w':
		if len(arg) != 8 {
			return []byte("error: want a uint64")
		}
		removed, err := shm.Sweep(int(binary.LittleEndian.Uint64(arg)))
		if err != nil {
			return []byte("error: " + err.Error())
		}
		return ok(binary.LittleEndian.AppendUint64(nil, uint64(len(removed))))
	}
	return []byte("error: unknown op")
}

func ok(b []byte) []byte { return append([]byte("ok"), b...) }

func sum(p []byte) float64 {
	var s float64
	for i := 0; i+8 <= len(p); i += 8 {
		s += math.Float64frombits(binary.LittleEndian.Uint64(p[i:]))
	}
	return s
}

// add writes x + y (the two halves of p) into a new segment; the name stays
// until R's open unlinks it (or the exit sweep, if R never takes it).
func add(p []byte) []byte {
	if len(p)%16 != 0 {
		return []byte("error: want two float64 columns of one length")
	}
	half := len(p) / 2
	seg, err := shm.Create(uint64(half))
	if err != nil {
		return []byte("error: " + err.Error())
	}
	defer seg.Close()
	out := seg.Payload()
	for i := 0; i < half; i += 8 {
		x := math.Float64frombits(binary.LittleEndian.Uint64(p[i:]))
		y := math.Float64frombits(binary.LittleEndian.Uint64(p[half+i:]))
		binary.LittleEndian.PutUint64(out[i:], math.Float64bits(x+y))
	}
	return ok(seg.Handle().AppendBinary(nil))
}
