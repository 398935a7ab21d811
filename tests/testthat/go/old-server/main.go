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
	"encoding/binary"
	"fmt"
	"log"
	"os"

	"go.nanomsg.org/mangos/v3/protocol/rep"
	_ "go.nanomsg.org/mangos/v3/transport/ipc"
	"mangoro/pkg/rgoipc"
)

const info = `{"protocol":1,"server":"rgoipc","version":"0.1.0","max_message_size":2147483647,"functions":3}`

func pack(typ byte, name, text string, payload []byte) []byte {
	b := []byte{typ}
	b = binary.BigEndian.AppendUint32(b, uint32(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(text)))
	b = append(b, text...)
	return append(b, payload...)
}

// parse returns type, name and text, ok false when malformed.
func parse(b []byte) (byte, string, string, bool) {
	if len(b) < 9 {
		return 0, "", "", false
	}
	n := binary.BigEndian.Uint32(b[1:])
	if uint64(n) > uint64(len(b)-9) {
		return 0, "", "", false
	}
	name := string(b[5 : 5+n])
	rest := b[5+n:]
	m := binary.BigEndian.Uint32(rest)
	if uint64(m) > uint64(len(rest)-4) {
		return 0, "", "", false
	}
	return b[0], name, string(rest[4 : 4+m]), true
}

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
			typ, name, text, ok := parse(msg)
			var reply []byte
			switch {
			case !ok:
				reply = pack(3, "", "old-server: malformed", nil)
			case typ == 0:
				reply = pack(0, "", "", []byte(`{}`))
			case typ == 4:
				reply = pack(4, "", "", []byte(info))
			case typ == 5:
				cancels++
				reply = pack(3, "", "old-server: unsupported message type 5", nil)
			case typ == 1 && name == "hold":
				continue // never answered
			case typ == 1 && name == "cancels":
				reply = pack(3, name, fmt.Sprintf("cancels=%d", cancels), nil)
			case typ == 1:
				reply = pack(3, name, "text="+text, nil)
			default:
				reply = pack(3, "", "old-server: unsupported message type", nil)
			}
			if err := sock.Send(reply); err != nil {
				log.Printf("send: %v", err)
			}
		}
	})
	if err != nil {
		log.Fatal(err)
	}
}
