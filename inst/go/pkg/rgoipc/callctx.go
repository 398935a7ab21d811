package rgoipc

import (
	"context"
	"sync"
	"time"
)

// callCtx is the context of a call that came with a deadline or an id. Its
// Done channel, and the timer behind the deadline, are made only when
// something asks for Done (a handler that selects on it, a context derived
// from it): most handlers never do, and context.WithTimeout's timer costs
// more than a small call's own work. Err notices a passed deadline without a
// timer.
type callCtx struct {
	parent      context.Context
	deadline    time.Time
	hasDeadline bool

	mu     sync.Mutex
	err    error
	done   chan struct{} // nil until Done is called
	closed bool
	timer  *time.Timer
	stop   func() bool // undoes the AfterFunc on the parent
}

func newCallCtx(parent context.Context, timeout time.Duration, hasTimeout bool) *callCtx {
	c := &callCtx{parent: parent}
	if hasTimeout {
		c.deadline, c.hasDeadline = time.Now().Add(timeout), true
	}
	if d, ok := parent.Deadline(); ok && (!c.hasDeadline || d.Before(c.deadline)) {
		c.deadline, c.hasDeadline = d, true
	}
	return c
}

func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, c.hasDeadline }

func (c *callCtx) Value(key any) any { return c.parent.Value(key) }

func (c *callCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.noticeLocked() == nil {
			if c.hasDeadline {
				c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.end(context.DeadlineExceeded) })
			}
			c.stop = context.AfterFunc(c.parent, func() { c.end(c.parent.Err()) })
		}
	}
	return c.done
}

func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.noticeLocked()
}

// noticeLocked records a passed deadline or an ended parent, closing Done if
// it exists, and returns the context's error. Called with c.mu held.
func (c *callCtx) noticeLocked() error {
	if c.err == nil {
		if c.hasDeadline && !time.Now().Before(c.deadline) {
			c.err = context.DeadlineExceeded
		} else if err := c.parent.Err(); err != nil {
			c.err = err
		}
	}
	if c.err != nil && c.done != nil && !c.closed {
		close(c.done)
		c.closed = true
	}
	return c.err
}

// end ends the context with err, unless it has ended already.
func (c *callCtx) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
	c.noticeLocked()
}

// cancel ends the call's context (a MsgCancel for its id).
func (c *callCtx) cancel() { c.end(context.Canceled) }

// release ends the context once the call is over (as the cancel of
// context.WithTimeout would: what the handler started learns it is done) and
// frees the timer and the parent's hook.
func (c *callCtx) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = context.Canceled
	}
	c.noticeLocked()
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.stop != nil {
		c.stop()
	}
}
