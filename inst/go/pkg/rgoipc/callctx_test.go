package rgoipc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A callCtx behaves as context.WithTimeout's does, whether or not Done was
// asked for before the deadline.
func TestCallCtxDeadline(t *testing.T) {
	for _, askDone := range []bool{true, false} {
		c := newCallCtx(context.Background(), 20*time.Millisecond, true)
		if d, ok := c.Deadline(); !ok || time.Until(d) > 20*time.Millisecond {
			t.Fatalf("deadline %v %v", d, ok)
		}
		if err := c.Err(); err != nil {
			t.Fatalf("Err before the deadline: %v", err)
		}
		var done <-chan struct{}
		if askDone {
			done = c.Done()
			select {
			case <-done:
				t.Fatal("Done closed before the deadline")
			default:
			}
			<-done // the timer closes it
		} else {
			// No timer: Err notices the deadline once it has passed (a
			// reference context with the same deadline says when).
			d, _ := c.Deadline()
			ref, stop := context.WithDeadline(context.Background(), d)
			<-ref.Done()
			stop()
			if !errors.Is(c.Err(), context.DeadlineExceeded) {
				t.Fatalf("Err after the deadline, Done never asked: %v", c.Err())
			}
			done = c.Done() // asked after the deadline: closed at once
			<-done
		}
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("askDone=%v: Err %v, want DeadlineExceeded", askDone, c.Err())
		}
		c.release()
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("release changed Err to %v", c.Err())
		}
	}
}

func TestCallCtxCancelAndRelease(t *testing.T) {
	c := newCallCtx(context.Background(), time.Hour, true)
	done := c.Done()
	c.cancel()
	<-done
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err %v, want Canceled", c.Err())
	}
	c.release()

	// Ending the call ends what the handler started on its context.
	c = newCallCtx(context.Background(), 0, false)
	child, stop := context.WithCancel(c)
	defer stop()
	c.release()
	<-child.Done()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("after release: %v", c.Err())
	}
}

func TestCallCtxParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	c := newCallCtx(parent, time.Hour, true)
	defer c.release()
	if c.Value(ctxKey{}) != "v" {
		t.Fatal("values of the parent are not seen")
	}
	done := c.Done()
	cancel()
	<-done
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err %v after the parent's cancel", c.Err())
	}
	// A parent's earlier deadline wins.
	p2, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	pd, _ := p2.Deadline()
	c2 := newCallCtx(p2, time.Hour, true)
	defer c2.release()
	if d, _ := c2.Deadline(); !d.Equal(pd) {
		t.Fatalf("deadline %v, want the parent's %v", d, pd)
	}
}

type ctxKey struct{}
