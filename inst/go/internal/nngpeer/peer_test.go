package nngpeer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lineWriter sends each complete line written to it down a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			return len(b), nil
		}
		w.lines <- string(w.buf.Next(i + 1)[:i])
	}
}

type running struct {
	addr  string
	lines chan string
	done  chan error
}

var inprocN atomic.Int64

func inprocURL() string { return fmt.Sprintf("inproc://nngpeer-test-%d", inprocN.Add(1)) }

// start runs cfg in the background and returns once it is listening or
// has dialed; the peer is stopped when the test ends.
func start(t *testing.T, cfg Config) *running {
	t.Helper()
	r := &running{lines: make(chan string, 100), done: make(chan error, 1)}
	ready := make(chan string, 1)
	cfg.Out = &lineWriter{lines: r.lines}
	cfg.Ready = func(addr string) { ready <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	select {
	case r.addr = <-ready:
	case err := <-r.done:
		r.done <- err // for the cleanup
		// A quick peer may be ready and done by now; select picks either.
		select {
		case r.addr = <-ready:
			return r
		default:
		}
		t.Fatalf("%s peer did not start: %v", cfg.Protocol, err)
	case <-time.After(5 * time.Second):
		t.Fatalf("%s peer not ready", cfg.Protocol)
	}
	return r
}

// next returns the next printed line, failing after a generous timeout.
func (r *running) next(t *testing.T) string {
	t.Helper()
	select {
	case l := <-r.lines:
		return l
	case <-time.After(5 * time.Second):
		t.Fatal("no line printed")
	}
	return ""
}

func (r *running) exited(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		r.done <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("peer did not stop by itself")
	}
}

func TestReqRep(t *testing.T) {
	tests := []struct {
		op, codec string
		values    []string
		want      string
	}{
		{OpEcho, "float64", []string{"1.5", "NA", "-Inf"}, "mangoro-recv float64 1.5 NA -Inf"},
		{OpReverse, "float64", []string{"1", "2", "3"}, "mangoro-recv float64 3 2 1"},
		{OpReverse, "int32", []string{"1", "NA"}, "mangoro-recv int32 NA 1"},
		{OpReverse, "string", []string{"a b", "c"}, `mangoro-recv string "c" "a b"`},
		{OpReverse, "raw", []string{"01", "02"}, "mangoro-recv raw 02 01"},
	}
	for _, tt := range tests {
		t.Run(tt.op+"/"+tt.codec, func(t *testing.T) {
			c, _ := ParseCodec(tt.codec)
			url := inprocURL()
			server := start(t, Config{Protocol: "rep", URL: url, Codec: c, Op: tt.op, Count: 1})
			client := start(t, Config{Protocol: "req", URL: url, Dial: true, Codec: c, Values: tt.values})
			if got := client.next(t); got != tt.want {
				t.Errorf("req printed %q, want %q", got, tt.want)
			}
			client.exited(t)
			if got := server.next(t); !strings.HasPrefix(got, RecvPrefix+" "+tt.codec) {
				t.Errorf("rep printed %q", got)
			}
		})
	}
}

func TestPairBothWays(t *testing.T) {
	url := "ipc://" + t.TempDir() + "/pair.sock"
	a := start(t, Config{Protocol: "pair", URL: url, Codec: String, Values: []string{"from a"}, Count: 1})
	b := start(t, Config{Protocol: "pair", URL: url, Dial: true, Codec: String, Values: []string{"from b"}, Count: 1})
	if got := a.next(t); got != `mangoro-recv string "from b"` {
		t.Errorf("a got %q", got)
	}
	if got := b.next(t); got != `mangoro-recv string "from a"` {
		t.Errorf("b got %q", got)
	}
}

func TestPubSubTopics(t *testing.T) {
	url := inprocURL()
	topic, _ := Topic(String, "fruit")
	sub := start(t, Config{Protocol: "sub", URL: url, Codec: String, Topics: [][]byte{topic}, Count: 2})
	// A stdin that stays open while the publisher works.
	stdin, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	go fmt.Fprint(w, "string veg carrot\nstring fruit apple\nraw 01 02\nstring fruit:pear\n")
	start(t, Config{Protocol: "pub", URL: url, Dial: true, Commands: stdin})
	for _, want := range []string{`mangoro-recv string "fruit" "apple"`, `mangoro-recv string "fruit:pear"`} {
		if got := sub.next(t); got != want {
			t.Errorf("sub got %q, want %q", got, want)
		}
	}
	sub.exited(t)
}

func TestPushPull(t *testing.T) {
	url := inprocURL()
	pull := start(t, Config{Protocol: "pull", URL: url, Codec: Int32, Count: 3})
	start(t, Config{Protocol: "push", URL: url, Dial: true, Codec: Int32, Values: []string{"7", "8"}, Repeat: 3})
	for i := 0; i < 3; i++ {
		if got := pull.next(t); got != "mangoro-recv int32 7 8" {
			t.Errorf("pull got %q", got)
		}
	}
	pull.exited(t)
}

func TestSurveyWithSilentRespondent(t *testing.T) {
	url := inprocURL()
	sur := start(t, Config{Protocol: "surveyor", URL: url, Codec: String, Values: []string{"ping"}, Peers: 2,
		SurveyTime: 200 * time.Millisecond, Count: 1})
	start(t, Config{Protocol: "respondent", URL: url, Dial: true, Codec: String, Op: OpReverse})
	start(t, Config{Protocol: "respondent", URL: url, Dial: true, Op: OpNone})
	if got := sur.next(t); got != `mangoro-recv string "ping"` {
		t.Errorf("surveyor got %q", got)
	}
	if got := sur.next(t); got != SurveyDonePrefix+" 1" {
		t.Errorf("surveyor got %q", got)
	}
	sur.exited(t)
}

func TestBusMixedPeers(t *testing.T) {
	url := inprocURL()
	hub := start(t, Config{Protocol: "bus", URL: url, Codec: String, Count: 2})
	start(t, Config{Protocol: "bus", URL: url, Dial: true, Codec: String, Values: []string{"one"}})
	start(t, Config{Protocol: "bus", URL: url, Dial: true, Codec: String, Values: []string{"two"}})
	got := []string{hub.next(t), hub.next(t)}
	sort.Strings(got)
	if want := []string{`mangoro-recv string "one"`, `mangoro-recv string "two"`}; got[0] != want[0] || got[1] != want[1] {
		t.Errorf("hub got %q", got)
	}
}

func TestQuitMessage(t *testing.T) {
	url := inprocURL()
	pull := start(t, Config{Protocol: "pull", URL: url, Codec: String})
	start(t, Config{Protocol: "push", URL: url, Dial: true, Codec: String, Values: []string{"quit"}})
	if got := pull.next(t); got != `mangoro-recv string "quit"` {
		t.Errorf("got %q", got)
	}
	pull.exited(t)
}

func TestConfigErrors(t *testing.T) {
	tests := []Config{
		{Protocol: "poly", URL: "inproc://x", Out: io.Discard},
		{Protocol: "rep", Out: io.Discard},
		{Protocol: "rep", URL: "inproc://x", Op: "double", Out: io.Discard},
		{Protocol: "rep", URL: "tls+tcp://127.0.0.1:0", Out: io.Discard},
	}
	for _, cfg := range tests {
		if err := Run(context.Background(), cfg); !errors.Is(err, ErrUsage) {
			t.Errorf("%+v: err = %v, want ErrUsage", cfg, err)
		}
	}
}

func ExampleRun() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string)
	go func() {
		// A rep peer that answers with the elements reversed.
		_ = Run(ctx, Config{Protocol: "rep", URL: "inproc://example", Codec: Float64,
			Op: OpReverse, Out: io.Discard, Ready: func(a string) { ready <- a }})
	}()
	url := <-ready
	var out bytes.Buffer
	// A req peer: one request, print the reply, stop.
	err := Run(ctx, Config{Protocol: "req", URL: url, Dial: true, Codec: Float64,
		Values: []string{"1", "2.5", "NA"}, Out: &out})
	fmt.Print(out.String(), err)
	// Output:
	// mangoro-recv float64 NA 2.5 1
	// <nil>
}

func ExampleCodec_Parse() {
	b, _ := String.Parse([]string{"fruit", "apple"})
	fmt.Printf("%q\n", b)
	x, _ := DecodeFloat64s(EncodeFloat64s([]float64{0.1, 2}))
	fmt.Println(x)
	// Output:
	// "fruit\x00apple\x00"
	// [0.1 2]
}
