// Command pool-worker serves two functions that wait, for the pool tests of
// the retry rule: "wait" may have side effects (not marked), "waitAgain" is
// marked idempotent, so a pool sends it to another worker when its worker
// dies.
//
// Usage: pool-worker <url>
package main

import (
	"context"
	"errors"
	"log"
	"time"

	"mangoro/pkg/rgoipc"
)

func wait(ctx context.Context, ms float64) (float64, error) {
	t := time.NewTimer(time.Duration(ms * float64(time.Millisecond)))
	defer t.Stop()
	select {
	case <-t.C:
		return ms, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func main() {
	reg := rgoipc.NewRegistry()
	err := errors.Join(
		reg.Func("wait", wait, rgoipc.ArgNames("ms")),
		reg.Func("waitAgain", wait, rgoipc.ArgNames("ms"), rgoipc.Meta("idempotent", "true")),
	)
	if err != nil {
		log.Fatal(err)
	}
	rgoipc.Main(reg)
}
