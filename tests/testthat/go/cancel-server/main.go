// Command cancel-server is an rgoipc server with two workers whose handlers
// report what their context says; the R tests use it to check that
// deadlines and cancels reach handlers (inst/WIRE.md, "Request header",
// "Cancel").
//
// Usage: cancel-server <url>
package main

import (
	"context"
	"syscall"
	"time"

	"mangoro/pkg/rgoipc"
)

func main() {
	ended := make(chan string, 1)
	reg := rgoipc.NewRegistry()
	reg.Func("deadline", func(ctx context.Context) float64 {
		d, ok := ctx.Deadline()
		if !ok {
			return -1
		}
		return float64(time.Until(d).Milliseconds())
	}, rgoipc.Describe("ms left before the call's deadline, -1 without one"))
	reg.Func("sleep", func(ctx context.Context, ms float64) (float64, error) {
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return ms, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}, rgoipc.ArgNames("ms"), rgoipc.Describe("sleeps ms unless its context ends"))
	reg.Func("interruptParent", func(ctx context.Context) (bool, error) {
		// The event the test waits for: the call has started.
		_ = syscall.Kill(syscall.Getppid(), syscall.SIGINT)
		<-ctx.Done()
		ended <- ctx.Err().Error()
		return false, ctx.Err()
	}, rgoipc.Describe("sends SIGINT to its parent, then waits for its context to end"))
	reg.Func("lastEnd", func(ctx context.Context) (string, error) {
		select {
		case s := <-ended:
			return s, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}, rgoipc.Describe("how the last interruptParent call's context ended"))
	rgoipc.Main(reg, rgoipc.WithWorkers(2))
}
