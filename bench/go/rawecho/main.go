// Command rawecho is the benchmark floor: a mangos rep socket that replies
// with the request bytes unchanged, with no decoding at all. It follows the
// mangoro server process contract (rgoipc.RunProcess) so the bench starts it
// the same way as a real server.
//
//	rawecho <url> [<reply-file> <info-reply-file> <manifest-reply-file>]
//
// Given the three files it answers every request with the first, info
// requests (type 4) with the second and manifest requests (type 0) with the
// third, without reading the request (so mangoro_server_start() can start
// it): a server
// that costs nothing, so a mangoro call against it measures the R client and
// the transport alone (bench/PROFILE.md).
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/rep"
	_ "go.nanomsg.org/mangos/v3/transport/all"
	"mangoro/pkg/rgoipc"
)

// workers matches the number of concurrent requests the bench may have in
// flight; each has its own context, like rgoipc.
const workers = 32

func main() {
	logger := log.New(os.Stderr, "[rawecho] ", log.LstdFlags)
	if len(os.Args) != 2 && len(os.Args) != 5 {
		logger.Fatal("usage: rawecho <url> [<reply-file> <info-reply-file> <manifest-reply-file>]")
	}
	url := os.Args[1]
	var canned [][]byte // reply, info, manifest
	for _, f := range os.Args[2:] {
		b, err := os.ReadFile(f)
		if err != nil {
			logger.Fatal(err)
		}
		canned = append(canned, b)
	}
	err := rgoipc.RunProcess(url, func(ctx context.Context, ready func(string)) error {
		sock, err := rep.NewSocket()
		if err != nil {
			return err
		}
		if err := sock.SetOption(mangos.OptionMaxRecvSize, 1<<31-1); err != nil {
			return err
		}
		if err := sock.Listen(url); err != nil {
			return fmt.Errorf("listen %s: %w", url, err)
		}
		for i := 0; i < workers; i++ {
			ctx, err := sock.OpenContext()
			if err != nil {
				return err
			}
			go serve(ctx, canned)
		}
		ready(url)
		<-ctx.Done()
		return sock.Close()
	})
	if err != nil {
		logger.Fatal(err)
	}
}

// serve replies to each request with its own body (sent back as is, so no
// byte is copied in Go), or with a canned reply when there are some.
func serve(ctx mangos.Context, canned [][]byte) {
	for {
		m, err := ctx.RecvMsg()
		if err != nil {
			return
		}
		switch {
		case canned == nil:
		case len(m.Body) > 0 && m.Body[0] == 4:
			m.Body = append(m.Body[:0], canned[1]...)
		case len(m.Body) > 0 && m.Body[0] == 0:
			m.Body = append(m.Body[:0], canned[2]...)
		default:
			m.Body = append(m.Body[:0], canned[0]...)
		}
		if err := ctx.SendMsg(m); err != nil {
			m.Free()
		}
	}
}
