// Command minimal-server answers mangoro RPC messages using only the wire
// format (mangos rep + Arrow IPC, inst/WIRE.md), without rgoipc's registry or
// codec (only its process contract, rgoipc.RunProcess). The R tests use it to
// check that the R client depends on nothing but the documented format.
//
// Usage: minimal-server <url>
//
// Functions: add(x float64, y float64) -> float64, echo(...) -> its input.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.nanomsg.org/mangos/v3/protocol/rep"
	_ "go.nanomsg.org/mangos/v3/transport/ipc"
	_ "go.nanomsg.org/mangos/v3/transport/tcp"
	"mangoro/pkg/rgoipc"
)

const (
	typeManifest = 0
	typeCall     = 1
	typeResult   = 2
	typeError    = 3
)

const manifest = `{"add":{"Args":[` +
	`{"Name":"x","Type":{"Type":"float64","Nullable":true,"StructDef":null,"ListSchema":null},"Optional":false,"Default":null},` +
	`{"Name":"y","Type":{"Type":"float64","Nullable":true,"StructDef":null,"ListSchema":null},"Optional":false,"Default":null}],` +
	`"ReturnType":{"Type":"float64","Nullable":true,"StructDef":null,"ListSchema":null},` +
	`"Vectorized":true,"Metadata":{"description":"x + y (minimal server)"}},` +
	`"echo":{"Args":[],"ReturnType":{"Type":"any","Nullable":true,"StructDef":null,"ListSchema":null},` +
	`"Vectorized":true,"Metadata":{"description":"returns its input","variadic":"any"}}}`

type envelope struct {
	typ     byte
	name    string
	errText string
	payload []byte
}

func parse(b []byte) (envelope, error) {
	var e envelope
	if len(b) < 9 {
		return e, errors.New("message shorter than the 9-byte header")
	}
	e.typ = b[0]
	n := binary.BigEndian.Uint32(b[1:5])
	if uint64(n) > uint64(len(b)-9) {
		return e, errors.New("name length runs past the end")
	}
	e.name = string(b[5 : 5+n])
	rest := b[5+n:]
	m := binary.BigEndian.Uint32(rest[:4])
	if uint64(m) > uint64(len(rest)-4) {
		return e, errors.New("error length runs past the end")
	}
	e.errText = string(rest[4 : 4+m])
	e.payload = rest[4+m:]
	return e, nil
}

func pack(typ byte, name, errText string, payload []byte) []byte {
	out := make([]byte, 0, 9+len(name)+len(errText)+len(payload))
	out = append(out, typ)
	out = binary.BigEndian.AppendUint32(out, uint32(len(name)))
	out = append(out, name...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(errText)))
	out = append(out, errText...)
	return append(out, payload...)
}

func readRecord(payload []byte) (arrow.RecordBatch, error) {
	r, err := ipc.NewReader(bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	defer r.Release()
	if !r.Next() {
		if r.Err() != nil {
			return nil, r.Err()
		}
		return nil, errors.New("no record batch in the payload")
	}
	rec := r.RecordBatch()
	rec.Retain()
	return rec, nil
}

func writeRecord(rec arrow.RecordBatch) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func add(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if rec.NumCols() != 2 {
		return nil, fmt.Errorf("add: expected 2 arguments, got %d", rec.NumCols())
	}
	x, ok1 := rec.Column(0).(*array.Float64)
	y, ok2 := rec.Column(1).(*array.Float64)
	if !ok1 || !ok2 {
		return nil, errors.New("add: arguments must be float64")
	}
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	for i := 0; i < x.Len(); i++ {
		if x.IsNull(i) || y.IsNull(i) {
			b.AppendNull()
			continue
		}
		b.Append(x.Value(i) + y.Value(i))
	}
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "result", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len())), nil
}

func handle(msg []byte) []byte {
	e, err := parse(msg)
	if err != nil {
		return pack(typeError, "", "minimal-server: "+err.Error(), nil)
	}
	switch e.typ {
	case typeManifest:
		return pack(typeManifest, "", "", []byte(manifest))
	case typeCall:
	default:
		return pack(typeError, "", fmt.Sprintf("minimal-server: unsupported message type %d", e.typ), nil)
	}
	rec, err := readRecord(e.payload)
	if err != nil {
		return pack(typeError, e.name, e.name+": "+err.Error(), nil)
	}
	defer rec.Release()
	var out arrow.RecordBatch
	switch e.name {
	case "add":
		out, err = add(rec)
	case "echo":
		rec.Retain()
		out = rec
	default:
		err = fmt.Errorf("%s: unknown function", e.name)
	}
	if err != nil {
		return pack(typeError, e.name, err.Error(), nil)
	}
	defer out.Release()
	payload, err := writeRecord(out)
	if err != nil {
		return pack(typeError, e.name, e.name+": "+err.Error(), nil)
	}
	return pack(typeResult, e.name, "", payload)
}

func main() {
	log.SetPrefix("[minimal-server] ")
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: minimal-server <url>")
	}
	url := os.Args[1]
	// The process contract (ready line, exit with the parent, signals) is
	// rgoipc's; the messages below use the wire format only (inst/WIRE.md),
	// and their error replies carry no code, as servers before 0.2.0 did.
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
			log.Printf("stopping: %v", context.Cause(ctx))
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
			if err := sock.Send(handle(msg)); err != nil {
				log.Printf("send: %v", err)
			}
		}
	})
	if err != nil {
		log.Fatal(err)
	}
}
