package rgoipctest_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"mangoro/internal/wire"
	"mangoro/pkg/rgoipc"
	"mangoro/pkg/rgoipc/rgoipctest"
)

func column(vals ...float64) arrow.RecordBatch {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	x := b.NewArray()
	defer x.Release()
	return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "x", Type: x.DataType(), Nullable: true}}, nil), []arrow.Array{x}, int64(len(vals)))
}

// TestCall: concurrent calls each get their own result; an error reply is
// an *Error with its code.
func TestCall(t *testing.T) {
	reg := rgoipc.NewRegistry()
	if err := reg.Func("double", func(x []float64) []float64 {
		out := make([]float64, len(x))
		for i := range x {
			out[i] = 2 * x[i]
		}
		return out
	}, rgoipc.ArgNames("x")); err != nil {
		t.Fatal(err)
	}
	srv := rgoipctest.NewServer(reg)
	defer srv.Close()
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(v float64) {
			defer wg.Done()
			args := column(v)
			defer args.Release()
			out, err := srv.Call("double", args)
			if err != nil {
				t.Error(err)
				return
			}
			defer out.Release()
			if got := out.Column(0).(*array.Float64).Value(0); got != 2*v {
				t.Errorf("double(%v) = %v", v, got)
			}
		}(float64(i))
	}
	wg.Wait()

	args := column(1)
	defer args.Release()
	_, err := srv.Call("triple", args)
	var rerr *rgoipctest.Error
	if !errors.As(err, &rerr) || rerr.Code != "unknown_function" || rerr.Name != "triple" {
		t.Fatalf("Call of an unknown function: %v", err)
	}
}

// TestParseReplyWithoutCode: an error reply with an empty payload, what
// 0.1.0 servers send, has code "other".
func TestParseReplyWithoutCode(t *testing.T) {
	_, err := rgoipctest.ParseReply((&wire.Envelope{Type: wire.MsgError, Name: "f", Error: "f: boom"}).Encode(nil))
	var rerr *rgoipctest.Error
	if !errors.As(err, &rerr) || rerr.Code != "other" || rerr.Message != "f: boom" {
		t.Fatalf("ParseReply = %v", err)
	}
	if _, err := rgoipctest.ParseReply([]byte{2, 0}); err == nil || errors.As(err, &rerr) {
		t.Fatalf("ParseReply of a truncated reply = %v", err)
	}
}
