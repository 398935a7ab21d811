package rgoipc

// Adaptive GOMAXPROCS, for the servers Main runs.
//
// Why: a server answering one short call at a time gains nothing from a
// second P and pays for it. Each goroutine hand-off between the socket and
// the handler (mangos' pipe reader, the receiver, the pipe writer) wakes an
// idle P's thread to look for work. On a virtual machine every such wake-up
// is an inter-processor interrupt. On the 2-core bench machine, one P took
// about 20 us off a 260 us small call (bench/PROFILE.md).
//
// So Main runs the process on one P while it is quiet. It gives the process
// every P (GOMAXPROCS as the runtime chose it) the moment two calls run at
// once, or when one call has run for wideAfter (its goroutines, and the
// garbage collector, then get the other cores). After narrowAfter with no
// call running, it goes back to one P. A program that sets GOMAXPROCS in its
// environment is left alone.

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const (
	wideAfter   = time.Millisecond
	narrowAfter = 100 * time.Millisecond
)

// procs switches GOMAXPROCS between 1 and full. Its methods are safe for
// concurrent use; a nil *procs does nothing.
type procs struct {
	full     int
	after    time.Duration // wideAfter (tests change it)
	busy     *atomic.Int64 // the server's count of running calls
	wide     atomic.Bool
	mu       sync.Mutex // serializes the switches
	long     *time.Timer
	narrow   *time.Timer
	switched func(wide bool) // tests: called after each switch
}

// withAdaptiveProcs makes the server narrow GOMAXPROCS to 1 while quiet
// (see the top of this file), unless the environment sets GOMAXPROCS or
// there is only one P anyway.
func withAdaptiveProcs() Option {
	return func(s *Server) {
		if _, set := os.LookupEnv("GOMAXPROCS"); set || runtime.GOMAXPROCS(0) < 2 {
			return
		}
		p := &procs{full: runtime.GOMAXPROCS(0), after: wideAfter, busy: &s.busy}
		p.long = time.AfterFunc(time.Hour, p.widen)
		p.long.Stop()
		p.narrow = time.AfterFunc(time.Hour, p.narrowIfIdle)
		p.narrow.Stop()
		p.wide.Store(true)
		p.narrowIfIdle()
		s.procs = p
	}
}

// started is called when a call starts, with the number now running.
func (p *procs) started(running int64) {
	if p == nil {
		return
	}
	if running > 1 {
		p.widen()
		return
	}
	if !p.wide.Load() {
		p.long.Reset(p.after)
	}
}

// ended is called when a call ends, with the number still running.
func (p *procs) ended(running int64) {
	if p == nil {
		return
	}
	if running == 0 {
		p.long.Stop()
		if p.wide.Load() {
			p.narrow.Reset(narrowAfter)
		}
	}
}

func (p *procs) widen() {
	if p.wide.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.wide.Load() {
		runtime.GOMAXPROCS(p.full)
		p.wide.Store(true)
		p.report(true)
	}
}

func (p *procs) narrowIfIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wide.Load() && p.busy.Load() == 0 {
		runtime.GOMAXPROCS(1)
		p.wide.Store(false)
		p.report(false)
	}
}

func (p *procs) report(wide bool) {
	if p.switched != nil {
		p.switched(wide)
	}
}
