// Command reqclient times round trips of one message from a Go req socket,
// so the cost of a server can be measured without R in the loop.
//
//	reqclient <url> <message file> [n]
//
// It prints "median <µs> p95 <µs>".
package main

import (
	"fmt"
	"log"
	"os"
	"slices"
	"strconv"
	"time"

	"go.nanomsg.org/mangos/v3/protocol/req"
	_ "go.nanomsg.org/mangos/v3/transport/all"
)

func main() {
	logger := log.New(os.Stderr, "[reqclient] ", 0)
	if len(os.Args) < 3 {
		logger.Fatal("usage: reqclient <url> <message file> [n]")
	}
	msg, err := os.ReadFile(os.Args[2])
	if err != nil {
		logger.Fatal(err)
	}
	n := 5000
	if len(os.Args) > 3 {
		if n, err = strconv.Atoi(os.Args[3]); err != nil || n < 1 {
			logger.Fatalf("bad count %q", os.Args[3])
		}
	}
	sock, err := req.NewSocket()
	if err != nil {
		logger.Fatal(err)
	}
	defer sock.Close()
	if err := sock.Dial(os.Args[1]); err != nil {
		logger.Fatal(err)
	}
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		if err := sock.Send(msg); err != nil {
			logger.Fatal(err)
		}
		if _, err := sock.Recv(); err != nil {
			logger.Fatal(err)
		}
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	fmt.Printf("median %.1f p95 %.1f\n", us(times[n/2]), us(times[n*95/100]))
}
