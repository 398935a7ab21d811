// Command rawecho is the benchmark floor: a mangos rep socket that replies
// with the request bytes unchanged, with no decoding at all. It follows the
// mangoro server process contract (MANGORO_READY=stdout, MANGORO_PARENT=stdin)
// so the bench starts it the same way as a real server.
//
//	rawecho <url>
package main

import (
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/rep"
	_ "go.nanomsg.org/mangos/v3/transport/all"
)

// workers matches the number of concurrent requests the bench may have in
// flight; each has its own context, like rgoipc.
const workers = 32

func main() {
	logger := log.New(os.Stderr, "[rawecho] ", log.LstdFlags)
	if len(os.Args) != 2 {
		logger.Fatal("usage: rawecho <url>")
	}
	url := os.Args[1]
	sock, err := rep.NewSocket()
	if err != nil {
		logger.Fatal(err)
	}
	if err := sock.SetOption(mangos.OptionMaxRecvSize, 1<<31-1); err != nil {
		logger.Fatal(err)
	}
	if err := sock.Listen(url); err != nil {
		logger.Fatalf("listen %s: %v", url, err)
	}
	for i := 0; i < workers; i++ {
		ctx, err := sock.OpenContext()
		if err != nil {
			logger.Fatal(err)
		}
		go serve(ctx)
	}
	if os.Getenv("MANGORO_READY") == "stdout" {
		os.Stdout.WriteString("mangoro-ready " + url + "\n")
		os.Stdout = os.Stderr
	}
	done := make(chan struct{}, 2)
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		<-sigs
		done <- struct{}{}
	}()
	if os.Getenv("MANGORO_PARENT") == "stdin" {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			done <- struct{}{}
		}()
	}
	<-done
	_ = sock.Close()
	if p, ok := strings.CutPrefix(url, "ipc://"); ok {
		_ = os.Remove(p)
	}
}

// serve replies to each request with its own body: the message is sent back
// as is, so no byte is copied in Go.
func serve(ctx mangos.Context) {
	for {
		m, err := ctx.RecvMsg()
		if err != nil {
			return
		}
		if err := ctx.SendMsg(m); err != nil {
			m.Free()
		}
	}
}
