// Command canned answers every request with the same reply bytes, read from
// a file, without reading the request: a server that costs nothing, so a call
// against it measures the R client and the transport alone (bench/R/small.R).
// It follows the mangoro server process contract (rgoipc.RunProcess).
//
//	canned <url> <reply-file> <info-reply-file>
//
// Info requests (type 4) get the second file, so the client sees the
// features of the server the replies came from.
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
	logger := log.New(os.Stderr, "[canned] ", log.LstdFlags)
	if len(os.Args) != 4 {
		logger.Fatal("usage: canned <url> <reply-file> <info-reply-file>")
	}
	url := os.Args[1]
	reply, err := os.ReadFile(os.Args[2])
	if err != nil {
		logger.Fatal(err)
	}
	info, err := os.ReadFile(os.Args[3])
	if err != nil {
		logger.Fatal(err)
	}
	err = rgoipc.RunProcess(url, func(ctx context.Context, ready func(string)) error {
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
			go serve(ctx, reply, info)
		}
		ready(url)
		<-ctx.Done()
		return sock.Close()
	})
	if err != nil {
		logger.Fatal(err)
	}
}

// serve answers each request with the canned reply.
func serve(ctx mangos.Context, reply, info []byte) {
	for {
		m, err := ctx.RecvMsg()
		if err != nil {
			return
		}
		if len(m.Body) > 0 && m.Body[0] == 4 {
			m.Body = append(m.Body[:0], info...)
		} else {
			m.Body = append(m.Body[:0], reply...)
		}
		if err := ctx.SendMsg(m); err != nil {
			m.Free()
		}
	}
}
