package nngpeer

import (
	"context"
	"log"
	"sync"

	"go.nanomsg.org/mangos/v3"
)

// peerWatch counts the pipes (connected peers) of a socket, so that a sender
// can wait for its peers instead of sending into the void: pub, bus and
// surveyor drop messages when nobody is connected.
type peerWatch struct {
	mu      sync.Mutex
	n       int
	changed chan struct{} // closed and replaced at every change
	log     *log.Logger
}

func watchPeers(sock mangos.Socket, logger *log.Logger) *peerWatch {
	w := &peerWatch{changed: make(chan struct{}), log: logger}
	sock.SetPipeEventHook(w.hook)
	return w
}

func (w *peerWatch) hook(ev mangos.PipeEvent, p mangos.Pipe) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch ev {
	case mangos.PipeEventAttached:
		w.n++
		w.log.Printf("peer %d connected (%d now)", p.ID(), w.n)
	case mangos.PipeEventDetached:
		w.n--
		w.log.Printf("peer %d left (%d now)", p.ID(), w.n)
	default:
		return
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// count returns the number of connected peers.
func (w *peerWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// wait blocks until ok(count) holds or ctx is done.
func (w *peerWatch) wait(ctx context.Context, ok func(n int) bool) error {
	for {
		w.mu.Lock()
		n, ch := w.n, w.changed
		w.mu.Unlock()
		if ok(n) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
