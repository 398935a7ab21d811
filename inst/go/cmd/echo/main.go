// Command echo is the smallest mangoro program: it answers requests on an NNG
// rep socket with mangos and arrow-go directly, without rgoipc's registry.
//
//	echo <url> text    reply "<message> [echoed by Go]"
//	echo <url> arrow   read the request as an Arrow IPC stream and write the
//	                   same records back as a new stream
//
// It follows mangoro's process contract through rgoipc.RunProcess (the
// ready line, exit when R's stdin closes, SIGINT/SIGTERM, socket file
// removal), which is how mangoro starts it from R.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/rep"
	_ "go.nanomsg.org/mangos/v3/transport/all"
	"mangoro/pkg/rgoipc"
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

	err := rgoipc.RunProcess(addr, func(ctx context.Context, ready func(string)) error {
		sock, err := rep.NewSocket()
		if err != nil {
			return err
		}
		if err := sock.Listen(addr); err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		ready(addr)
		go func() {
			<-ctx.Done() // closing the socket ends the serve loop
			_ = sock.Close()
		}()
		serve(sock, answer)
		return nil
	})
	if err != nil {
		logger.Fatal(err)
	}
}

// serve answers every request with answer until the socket closes.
func serve(sock mangos.Socket, answer func([]byte) ([]byte, error)) {
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
