// Command profserver serves the bulk benchmark functions (add, echoString:
// the same code as rpc-example) through rgoipc.Main while writing a Go CPU
// profile, so the bench can show where the server spends its time.
//
//	profserver <url> <cpu.pprof>
//
// It follows the mangoro process contract (MANGORO_READY, MANGORO_PARENT)
// and stops the profile on SIGTERM, SIGINT or stdin EOF.
package main

import (
	"context"
	"errors"
	"log"
	"os"
	"runtime/pprof"

	"mangoro/pkg/rgoipc"
)

func main() {
	logger := log.New(os.Stderr, "[profserver] ", log.LstdFlags)
	if len(os.Args) != 3 {
		logger.Fatal("usage: profserver <url> <cpu.pprof>")
	}
	reg := rgoipc.NewRegistry()
	err := errors.Join(
		reg.Func("add", func(x, y []float64) []float64 {
			out := make([]float64, len(x))
			for i := range x {
				out[i] = x[i] + y[i]
			}
			return out
		}, rgoipc.ArgNames("x", "y")),
		reg.Func("echoString", func(s []*string) []*string { return s }, rgoipc.ArgNames("s")),
	)
	if err != nil {
		logger.Fatal(err)
	}
	f, err := os.Create(os.Args[2])
	if err != nil {
		logger.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		logger.Fatal(err)
	}
	// rgoipc.Main handles the process contract (signals, stdin, ready
	// line) and takes the URL as its only argument; the profile is
	// written out as the server shuts down.
	os.Args = os.Args[:2]
	rgoipc.Main(reg, rgoipc.WithLogger(logger), rgoipc.WithOnShutdown(func(context.Context) {
		pprof.StopCPUProfile()
		_ = f.Close()
	}))
}
