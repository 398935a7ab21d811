// Command profserver serves the bulk benchmark functions (add, echoString:
// the same code as rpc-example) through rgoipc.Run while writing a Go CPU
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
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

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
		reg.Func("echoString", func(x []*string) []*string { return x }, rgoipc.ArgNames("x")),
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

	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		cancel(fmt.Errorf("received %v", <-sigs))
	}()
	if os.Getenv(rgoipc.EnvParent) == "stdin" {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel(errors.New("stdin closed"))
		}()
	}
	opts := []rgoipc.Option{rgoipc.WithLogger(logger)}
	if os.Getenv(rgoipc.EnvReady) == "stdout" {
		opts = append(opts, rgoipc.WithReady(func(addr string) {
			fmt.Fprintf(os.Stdout, "mangoro-ready %s\n", addr)
			os.Stdout = os.Stderr
		}))
	}
	runErr := rgoipc.Run(ctx, os.Args[1], reg, opts...)
	pprof.StopCPUProfile()
	_ = f.Close()
	if runErr != nil {
		logger.Fatal(runErr)
	}
}
