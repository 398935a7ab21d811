package rgoipc

import (
	"context"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"mangoro/internal/wire"
)

// adaptiveServer is a server with adaptive GOMAXPROCS (as Main makes it)
// and a channel that gets every switch; GOMAXPROCS is restored afterwards.
func adaptiveServer(t *testing.T, reg *Registry) (*Server, chan bool) {
	t.Helper()
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		t.Skip("GOMAXPROCS is set in the environment: the server leaves it alone")
	}
	full := runtime.GOMAXPROCS(0)
	if full < 2 {
		t.Skip("one P only: nothing to adapt")
	}
	s := NewServer(reg, WithLogger(nil), withAdaptiveProcs())
	if s.procs == nil {
		t.Fatal("no adaptive procs")
	}
	sw := make(chan bool, 16)
	s.procs.mu.Lock()
	s.procs.switched = func(wide bool) { sw <- wide }
	s.procs.after = time.Hour // a test that wants the long-call switch sets it
	s.procs.mu.Unlock()
	t.Cleanup(func() {
		s.procs.long.Stop()
		s.procs.narrow.Stop()
		runtime.GOMAXPROCS(full)
	})
	return s, sw
}

func waitSwitch(t *testing.T, sw chan bool, want bool) {
	t.Helper()
	select {
	case got := <-sw:
		if got != want {
			t.Fatalf("switched to wide=%v, want wide=%v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no switch to wide=%v within 10 s", want)
	}
}

func TestAdaptiveProcsFollowLoad(t *testing.T) {
	s, sw := adaptiveServer(t, NewRegistry())
	p, full := s.procs, s.procs.full
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Fatalf("a new server runs on %d Ps, want 1", n)
	}
	// A short call alone stays on one P and leaves no timer armed.
	p.started(1)
	p.ended(0)
	if p.long.Stop() || runtime.GOMAXPROCS(0) != 1 {
		t.Fatal("a short call left the long-call timer armed or widened")
	}
	// Two calls at once: every P at once, one again once idle.
	p.started(1)
	p.started(2)
	if n := runtime.GOMAXPROCS(0); n != full {
		t.Fatalf("two calls run on %d Ps, want %d", n, full)
	}
	waitSwitch(t, sw, true)
	p.ended(1)
	p.ended(0)
	waitSwitch(t, sw, false)
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Fatalf("idle again on %d Ps, want 1", n)
	}
	// One long call: every P after wideAfter.
	p.after = wideAfter
	p.started(1)
	waitSwitch(t, sw, true)
	if n := runtime.GOMAXPROCS(0); n != full {
		t.Fatalf("a long call runs on %d Ps, want %d", n, full)
	}
	p.ended(0)
	waitSwitch(t, sw, false)
}

// The server's own calls drive it: two handlers running at once widen it.
func TestAdaptiveProcsSeeTheServersCalls(t *testing.T) {
	entered := make(chan struct{}, 2)
	release := make(chan struct{})
	reg := NewRegistry()
	if err := reg.HandleFunc("hold", Signature{Returns: Any()}, func(_ context.Context, a *Args) (arrow.RecordBatch, error) {
		entered <- struct{}{}
		<-release
		return NewResult(a.Mem()).Record()
	}); err != nil {
		t.Fatal(err)
	}
	s, sw := adaptiveServer(t, reg)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env, err := wire.Decode(s.handleMessage(context.Background(), callMsg(t, "hold"), nil))
			if err != nil || env.Type != wire.MsgResult {
				t.Errorf("hold: %v %q (%v)", env.Type, env.Error, err)
			}
		}()
	}
	<-entered
	<-entered
	if n := runtime.GOMAXPROCS(0); n != s.procs.full {
		t.Errorf("two running calls on %d Ps, want %d", n, s.procs.full)
	}
	close(release)
	wg.Wait()
	waitSwitch(t, sw, true)
	waitSwitch(t, sw, false)
}
