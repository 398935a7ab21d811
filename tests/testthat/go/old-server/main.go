// Command old-server answers like a mangoro 0.1.x server: its info reply
// lists no features, so clients must send it no request header and no
// cancel. The R tests use it to check they do not (inst/WIRE.md, "Request
// header").
//
// Usage: old-server <url>
//
// Calls (any payload): "text" answers an error reply whose message is the
// request's text field; "hold" is never answered (the client times out);
// "cancels" answers an error reply "cancels=<n>", the number of type 5
// messages received so far.
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"go.nanomsg.org/mangos/v3/protocol/rep"
	_ "go.nanomsg.org/mangos/v3/transport/ipc"
	"mangoro/internal/wire"
	"mangoro/pkg/rgoipc"
)

const info = `{"protocol":1,"server":"rgoipc","version":"0.1.0","max_message_size":2147483647,"functions":3}`

func main() {
	log.SetPrefix("[old-server] ")
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: old-server <url>")
	}
	url := os.Args[1]
	cancels := 0
	err := rgoipc.RunProcess(url, func(ctx context.Context, ready func(string)) error {
		sock, err := rep.NewSocket()
		if err != nil {
			return err
		}
		if err := sock.Listen(url); err != nil {
			return err
		}
		ready(url)
		go func() {
			<-ctx.Done()
			_ = sock.Close()
		}()
		for {
			msg, err := sock.Recv()
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("recv: %w", err)
			}
			// The envelope is unchanged since 0.1.x; only the replies are old.
			e, err := wire.Decode(msg)
			var reply *wire.Envelope
			switch {
			case err != nil:
				reply = &wire.Envelope{Type: wire.MsgError, Error: "old-server: malformed"}
			case e.Type == wire.MsgManifest:
				reply = &wire.Envelope{Type: wire.MsgManifest, Payload: []byte(`{}`)}
			case e.Type == wire.MsgInfo:
				reply = &wire.Envelope{Type: wire.MsgInfo, Payload: []byte(info)}
			case e.Type == wire.MsgCancel:
				cancels++
				reply = &wire.Envelope{Type: wire.MsgError, Error: "old-server: unsupported message type 5"}
			case e.Type == wire.MsgCall && e.Name == "hold":
				continue // never answered
			case e.Type == wire.MsgCall && e.Name == "cancels":
				reply = &wire.Envelope{Type: wire.MsgError, Name: e.Name, Error: fmt.Sprintf("cancels=%d", cancels)}
			case e.Type == wire.MsgCall:
				reply = &wire.Envelope{Type: wire.MsgError, Name: e.Name, Error: "text=" + e.Error}
			default:
				reply = &wire.Envelope{Type: wire.MsgError, Error: "old-server: unsupported message type"}
			}
			if err := sock.Send(reply.Encode(nil)); err != nil {
				log.Printf("send: %v", err)
			}
		}
	})
	if err != nil {
		log.Fatal(err)
	}
}
