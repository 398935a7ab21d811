// Command echo is the smallest mangoro program: it answers requests on an NNG
// rep socket, using only mangos and arrow-go.
//
//	echo <url> text    reply "<message> [echoed by Go]"
//	echo <url> arrow   read the request as an Arrow IPC stream and write the
//	                   same records back as a new stream
//
// It prints "mangoro-ready <url>" on stdout once it listens (when
// MANGORO_READY=stdout), and exits on SIGINT, SIGTERM, or when stdin closes
// (when MANGORO_PARENT=stdin), which is how mangoro starts it from R.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/rep"
	_ "go.nanomsg.org/mangos/v3/transport/all"
)

var logger = log.New(os.Stderr, "[echo] ", log.LstdFlags)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: echo <url> [text|arrow]")
		os.Exit(2)
	}
	addr, mode := os.Args[1], "text"
	if len(os.Args) == 3 {
		mode = os.Args[2]
	}
	var answer func([]byte) ([]byte, error)
	switch mode {
	case "text":
		answer = echoText
	case "arrow":
		answer = echoArrow
	default:
		logger.Fatalf("unknown mode %q: want text or arrow", mode)
	}

	sock, err := rep.NewSocket()
	if err != nil {
		logger.Fatal(err)
	}
	if err := sock.Listen(addr); err != nil {
		logger.Fatalf("listen on %s: %v", addr, err)
	}
	announceReady(addr)
	go stopOnSignalOrParentExit(sock, addr)

	for {
		msg, err := sock.Recv()
		if errors.Is(err, mangos.ErrClosed) {
			return
		} else if err != nil {
			logger.Printf("recv: %v", err)
			continue
		}
		reply, err := answer(msg)
		if err != nil {
			// The text protocol has no error channel; say so in the reply.
			reply = []byte("error: " + err.Error())
			logger.Printf("%v", err)
		}
		if err := sock.Send(reply); err != nil && !errors.Is(err, mangos.ErrClosed) {
			logger.Printf("send: %v", err)
		}
	}
}

// echoText answers text. nanonext sends an R string as its bytes plus a
// terminating NUL; the NUL is dropped so the suffix follows the text.
func echoText(msg []byte) ([]byte, error) {
	msg = bytes.TrimSuffix(msg, []byte{0})
	return append(msg, " [echoed by Go]"...), nil
}

// echoArrow decodes the request with arrow-go's IPC reader and encodes every
// record again, so a reply proves the data went through Go's Arrow types.
func echoArrow(msg []byte) ([]byte, error) {
	rdr, err := ipc.NewReader(bytes.NewReader(msg), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("reading Arrow stream: %w", err)
	}
	defer rdr.Release()
	var out bytes.Buffer
	w := ipc.NewWriter(&out, ipc.WithSchema(rdr.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
	for rdr.Next() {
		if err := w.Write(rdr.RecordBatch()); err != nil {
			return nil, fmt.Errorf("writing Arrow stream: %w", err)
		}
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading Arrow stream: %w", err)
	}
	if err := w.Close(); err != nil { // writes the end-of-stream marker
		return nil, err
	}
	return out.Bytes(), nil
}

func announceReady(addr string) {
	if os.Getenv("MANGORO_READY") == "stdout" {
		fmt.Fprintf(os.Stdout, "mangoro-ready %s\n", addr)
		os.Stdout = os.Stderr
	}
}

// stopOnSignalOrParentExit closes the socket, which ends the serve loop, on
// SIGINT/SIGTERM or, when started by R, when R's end of stdin closes (R
// exited, even by SIGKILL). It also removes the ipc socket file.
func stopOnSignalOrParentExit(sock mangos.Socket, addr string) {
	stop := make(chan struct{}, 2)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() { <-sigs; stop <- struct{}{} }()
	if os.Getenv("MANGORO_PARENT") == "stdin" {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop <- struct{}{} }()
	}
	<-stop
	_ = sock.Close()
	if u, err := url.Parse(addr); err == nil && u.Scheme == "ipc" {
		_ = os.Remove(u.Path)
	}
}
