package rgoipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mangoro/internal/wire"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/req"
)

// startServer listens on url and serves until the test ends.
func startServer(t *testing.T, reg *Registry, url string, opts ...Option) *Server {
	t.Helper()
	s := NewServer(reg, append([]Option{WithLogger(nil)}, opts...)...)
	if _, err := s.Listen(url); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s
}

// dialClient returns a req socket connected to url.
func reqSocket() (mangos.Socket, error) { return req.NewSocket() }

func dialClient(t *testing.T, url string) mangos.Socket {
	t.Helper()
	c, err := req.NewSocket()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Dial(url); err != nil {
		t.Fatal(err)
	}
	return c
}

// roundTrip sends msg on its own context and waits for the reply.
func roundTrip(t testing.TB, c mangos.Context, msg []byte) []byte {
	if err := c.SetOption(mangos.OptionRecvDeadline, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(msg); err != nil {
		t.Fatal(err)
	}
	b, err := c.Recv()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConcurrentCallsNeverCross runs many clients at once, each call on its
// own mangos context, with handlers that finish in scrambled order, and
// checks every reply belongs to its request.
func TestConcurrentCallsNeverCross(t *testing.T) {
	urls := map[string]string{
		"inproc": "inproc://rgoipc-concurrent",
		"ipc":    "ipc://" + filepath.Join(t.TempDir(), "rgoipc.sock"),
	}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			reg := NewRegistry()
			// The delay is the test subject: it makes calls overtake each other.
			err := reg.Func("tag", func(ctx context.Context, id []float64, us int) ([]float64, error) {
				select {
				case <-time.After(time.Duration(us) * time.Microsecond):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return id, nil
			}, ArgNames("id", "us"))
			if err != nil {
				t.Fatal(err)
			}
			startServer(t, reg, url, WithWorkers(8), WithAllocator(mem))
			client := dialClient(t, url)

			const goroutines, calls = 16, 40
			var wg sync.WaitGroup
			errs := make(chan error, goroutines*calls)
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					ctx, err := client.OpenContext()
					if err != nil {
						errs <- err
						return
					}
					defer ctx.Close()
					for k := 0; k < calls; k++ {
						id := float64(g*1000 + k)
						us := (g*7 + k*13) % 500 // a scalar: one value, recycled
						msg := callMsg(t, "tag", col{"id", f64(memory.DefaultAllocator, id, id+0.5)},
							col{"us", i32(memory.DefaultAllocator, us, us)})
						env, rec := readReply(t, roundTrip(t, ctx, msg))
						if rec == nil {
							errs <- fmt.Errorf("call %v: %s", id, env.Error)
							continue
						}
						if got, want := fmt.Sprint(rec.Column(0)), fmt.Sprint([]float64{id, id + 0.5}); got != want {
							errs <- fmt.Errorf("reply crossed: sent %v, got %v", want, got)
						}
						rec.Release()
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			mem.AssertSize(t, 0)
		})
	}
}

// blocker registers "block", whose calls announce themselves on started
// and then wait for release (or for their context to end).
func blocker(t *testing.T) (reg *Registry, started chan struct{}, release chan struct{}) {
	reg = NewRegistry()
	started, release = make(chan struct{}, 8), make(chan struct{})
	err := reg.HandleFunc("block", Signature{Returns: String()}, func(ctx context.Context, a *Args) (arrow.RecordBatch, error) {
		started <- struct{}{}
		select {
		case <-release:
			col := str(a.Mem(), "released")
			defer col.Release()
			return NewResult(a.Mem()).Column("result", col).Record()
		case <-ctx.Done():
			return nil, fmt.Errorf("cancelled: %w", ctx.Err())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg, started, release
}

// shutdownDuringCall starts a call to the blocker's "block" function, begins
// a Shutdown while it runs, then lets the call finish. It returns the reply
// the caller got and what Shutdown returned.
func shutdownDuringCall(t *testing.T, s *Server, url string, started <-chan struct{}, release chan struct{}) ([]byte, error) {
	t.Helper()
	ctx, err := dialClient(t, url).OpenContext()
	if err != nil {
		t.Fatal(err)
	}
	replies := make(chan []byte, 1)
	go func() {
		// Not roundTrip: its t.Fatal would end this goroutine, and the test
		// would wait for the reply forever.
		defer close(replies)
		if err := ctx.SetOption(mangos.OptionRecvDeadline, 20*time.Second); err != nil {
			t.Error(err)
			return
		}
		if err := ctx.Send((&wire.Envelope{Type: wire.MsgCall, Name: "block"}).Encode(nil)); err != nil {
			t.Error(err)
			return
		}
		b, err := ctx.Recv()
		if err != nil {
			t.Errorf("the call in flight got no reply: %v", err)
			return
		}
		replies <- b
	}()
	<-started

	shut := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shut <- s.Shutdown(sctx)
	}()
	close(release)
	return <-replies, <-shut
}

func TestShutdownWaitsForCallsInFlight(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	url := "ipc://" + sock
	reg, started, release := blocker(t)
	s := startServer(t, reg, url)
	reply, err := shutdownDuringCall(t, s, url, started, release)
	env, rec := readReply(t, reply)
	if rec == nil {
		t.Fatalf("call in flight got %v %q, want its result", env.Type, env.Error)
	}
	rec.Release()
	if err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file still there after Shutdown: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestShutdownDeadlineCancelsCalls(t *testing.T) {
	url := "inproc://rgoipc-shutdown-deadline"
	reg, started, _ := blocker(t)
	s := startServer(t, reg, url)
	ctx, err := dialClient(t, url).OpenContext()
	if err != nil {
		t.Fatal(err)
	}
	if err := ctx.Send((&wire.Envelope{Type: wire.MsgCall, Name: "block"}).Encode(nil)); err != nil {
		t.Fatal(err)
	}
	<-started
	sctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
}

func TestShutdownHooksRunOnceAfterCallsFinish(t *testing.T) {
	// ipc, not inproc: mangos' inproc transport drops a reply still on its
	// way to the client when the server's pipe closes; ipc has written it.
	url := "ipc://" + filepath.Join(t.TempDir(), "s.sock")
	reg, started, release := blocker(t)
	var order []string
	hook := func(name string) func(context.Context) {
		return func(ctx context.Context) {
			if _, ok := ctx.Deadline(); !ok {
				t.Errorf("hook %s got a context without Shutdown's deadline", name)
			}
			order = append(order, name)
		}
	}
	s := startServer(t, reg, url, WithOnShutdown(hook("first")), WithOnShutdown(hook("second")), WithOnShutdown(nil))
	reply, err := shutdownDuringCall(t, s, url, started, release)
	if _, rec := readReply(t, reply); rec != nil {
		rec.Release()
	}
	if err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	// A second Shutdown must not run the hooks again.
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.Shutdown(sctx)
	if got := strings.Join(order, ","); got != "first,second" {
		t.Fatalf("hooks ran as %q, want \"first,second\" once", got)
	}
}

func TestShutdownBeforeServeStartsWorkers(t *testing.T) {
	// A parent that goes away at once can make Run call Shutdown while
	// Serve has not started its workers yet: Shutdown must not wait for
	// workers it never saw, and Serve must not start them afterwards.
	for i := 0; i < 20; i++ {
		s := NewServer(NewRegistry(), WithLogger(nil))
		if _, err := s.Listen(fmt.Sprintf("inproc://rgoipc-early-shutdown-%d", i)); err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- s.Serve() }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown = %v, want nil", err)
		}
		cancel()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve = %v, want ErrServerClosed", err)
		}
	}
}

func TestListenErrors(t *testing.T) {
	sock := "ipc://" + filepath.Join(t.TempDir(), "busy.sock")
	startServer(t, NewRegistry(), sock)
	tests := []struct {
		name, url, want string
	}{
		{"unknown scheme", "nope://x", "rgoipc: listen \"nope://x\""},
		{"address in use", sock, "address in use"},
		{"bad tcp address", "tcp://256.1.1.1:x", "rgoipc: listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(NewRegistry(), WithLogger(nil))
			defer s.Close()
			_, err := s.Listen(tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Listen(%q) = %v, want an error containing %q", tc.url, err, tc.want)
			}
		})
	}
}

func TestServeStates(t *testing.T) {
	s := NewServer(NewRegistry(), WithLogger(nil))
	if err := s.Serve(); err == nil || !strings.Contains(err.Error(), "before Listen") {
		t.Errorf("Serve before Listen = %v", err)
	}
	_ = s.Close()
	if err := s.Serve(); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close = %v, want ErrServerClosed", err)
	}
	if _, err := s.Listen("inproc://rgoipc-closed"); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Listen after Close = %v, want ErrServerClosed", err)
	}
}

// TestPanicKeepsServing: after a panicking call the same server answers.
func TestPanicKeepsServing(t *testing.T) {
	url := "inproc://rgoipc-panic"
	startServer(t, testRegistry(t), url, WithWorkers(1))
	ctx, err := dialClient(t, url).OpenContext()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		env, _ := readReply(t, roundTrip(t, ctx, (&wire.Envelope{Type: wire.MsgCall, Name: "panic"}).Encode(nil)))
		if env.Error != "panic: panic: requested panic" {
			t.Fatalf("panic reply %q", env.Error)
		}
		env, _ = readReply(t, roundTrip(t, ctx, (&wire.Envelope{Type: wire.MsgInfo}).Encode(nil)))
		if env.Type != wire.MsgInfo {
			t.Fatalf("after a panic: reply %v %q", env.Type, env.Error)
		}
	}
}

// TestMaxMessageSizeBoundary: the info's max_message_size is exact for the
// envelope a client sends (the transport also counts the REQ protocol's
// 4-byte request ID): an envelope of exactly the limit is answered, one
// byte more is dropped by the transport, which closes the connection.
func TestMaxMessageSizeBoundary(t *testing.T) {
	const limit = 4096
	url := "ipc://" + filepath.Join(t.TempDir(), "max.sock")
	startServer(t, testRegistry(t), url, WithMaxMessageSize(limit))
	client := dialClient(t, url)
	detached := make(chan struct{}, 8)
	client.SetPipeEventHook(func(ev mangos.PipeEvent, _ mangos.Pipe) {
		if ev == mangos.PipeEventDetached {
			detached <- struct{}{}
		}
	})
	ctx, err := client.OpenContext()
	if err != nil {
		t.Fatal(err)
	}
	env, _ := readReply(t, roundTrip(t, ctx, (&wire.Envelope{Type: wire.MsgInfo}).Encode(nil)))
	var info wire.Info
	if err := json.Unmarshal(env.Payload, &info); err != nil || info.MaxMessageSize != limit {
		t.Fatalf("info = %s (%v)", env.Payload, err)
	}
	// A call whose envelope is exactly limit bytes: its payload is no Arrow
	// stream, so the reply is an error, but there is a reply.
	sized := func(n int) []byte {
		return (&wire.Envelope{Type: wire.MsgCall, Name: "add", Payload: make([]byte, n-wire.HeaderSize-len("add"))}).Encode(nil)
	}
	atLimit := sized(limit)
	if len(atLimit) != limit {
		t.Fatalf("built %d bytes", len(atLimit))
	}
	env, _ = readReply(t, roundTrip(t, ctx, atLimit))
	if env.Type != wire.MsgError || wire.ErrorCode(env.Payload) != wire.CodeMalformed {
		t.Fatalf("at the limit: reply %v %q %s", env.Type, env.Error, env.Payload)
	}

	over, err := client.OpenContext()
	if err != nil {
		t.Fatal(err)
	}
	if err := over.Send(sized(limit + 1)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-detached:
	case <-time.After(20 * time.Second):
		t.Fatal("a request one byte over the limit did not make the server drop the connection")
	}
	_ = over.Close() // abandon it, or REQ resends it on the new connection

	// The server still serves; the client redials by itself.
	ctx2, err := client.OpenContext()
	if err != nil {
		t.Fatal(err)
	}
	env, _ = readReply(t, roundTrip(t, ctx2, (&wire.Envelope{Type: wire.MsgInfo}).Encode(nil)))
	if env.Type != wire.MsgInfo {
		t.Fatalf("after the drop: reply %v %q", env.Type, env.Error)
	}
}

// TestTooLargeOnInproc: inproc has no transport limit, so the server
// checks the size itself and answers code too_large.
func TestTooLargeOnInproc(t *testing.T) {
	s := NewServer(testRegistry(t), WithMaxMessageSize(100), WithLogger(nil))
	defer s.Close()
	env, _ := readReply(t, s.handleMessage(context.Background(), (&wire.Envelope{Type: wire.MsgCall, Name: "add", Payload: make([]byte, 100)}).Encode(nil), nil))
	if env.Type != wire.MsgError || wire.ErrorCode(env.Payload) != wire.CodeTooLarge || env.Name != "" {
		t.Fatalf("reply %v %q %q %s", env.Type, env.Name, env.Error, env.Payload)
	}
}
