package nngpeer

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/bus"
	"go.nanomsg.org/mangos/v3/protocol/pair"
	"go.nanomsg.org/mangos/v3/protocol/pub"
	"go.nanomsg.org/mangos/v3/protocol/pull"
	"go.nanomsg.org/mangos/v3/protocol/push"
	"go.nanomsg.org/mangos/v3/protocol/rep"
	"go.nanomsg.org/mangos/v3/protocol/req"
	"go.nanomsg.org/mangos/v3/protocol/respondent"
	"go.nanomsg.org/mangos/v3/protocol/sub"
	"go.nanomsg.org/mangos/v3/protocol/surveyor"

	// Every transport: inproc, ipc, tcp, tls+tcp, ws and wss.
	_ "go.nanomsg.org/mangos/v3/transport/all"
)

// Ops a replying peer can apply to what it receives.
const (
	OpNone    = "none"    // do not reply
	OpEcho    = "echo"    // reply with the message as received
	OpReverse = "reverse" // reply with its elements in reverse order
)

// RecvPrefix starts every line printed for a received message, and
// SurveyDonePrefix the line a surveyor prints when a survey has expired.
const (
	RecvPrefix       = "mangoro-recv"
	SurveyDonePrefix = "mangoro-survey-done"
)

// ErrUsage is wrapped by errors in a Config.
var ErrUsage = errors.New("nngpeer: usage")

var newSockets = map[string]func() (mangos.Socket, error){
	"req": req.NewSocket, "rep": rep.NewSocket, "pair": pair.NewSocket,
	"pub": pub.NewSocket, "sub": sub.NewSocket, "push": push.NewSocket,
	"pull": pull.NewSocket, "surveyor": surveyor.NewSocket,
	"respondent": respondent.NewSocket, "bus": bus.NewSocket,
}

// Protocols lists the protocol names Run accepts (nanonext's names).
func Protocols() []string {
	return []string{"req", "rep", "pair", "pub", "sub", "push", "pull", "surveyor", "respondent", "bus"}
}

// Config describes one peer. Zero values are sensible defaults.
type Config struct {
	Protocol string // one of Protocols()
	URL      string // e.g. "tcp://127.0.0.1:0", "ipc:///tmp/x", "wss://127.0.0.1:0/p"
	Dial     bool   // dial URL instead of listening on it

	Codec  Codec    // layout of the messages sent and printed
	Values []string // values to send, as text (see Codec.Parse)
	Repeat int      // send Values this many times (default 1)
	// Interval spaces repeated sends: a publishing cadence for streams.
	Interval time.Duration

	// Commands, when not nil, is read line by line after Values are sent:
	// "<codec> <value> ..." sends a message, "quit" (or the end) stops.
	Commands io.Reader

	Op         string        // rep, respondent, pair, bus: OpEcho, OpReverse, OpNone
	Count      int           // stop after this many received messages (0: no limit)
	Peers      int           // peers to wait for before the first send (default 1)
	Topics     [][]byte      // sub: topics to subscribe to (see Topic); none means all
	SurveyTime time.Duration // surveyor: how long a survey collects (default 1s)
	// MaxRecvSize limits incoming messages (default 64 MiB; mangos' own
	// default is 1 MB).
	MaxRecvSize int
	// Linger bounds the wait, before closing, for peers to take what was
	// just sent: mangos drops queued messages on Close (default 1s).
	Linger time.Duration

	TLS *tls.Config // for tls+tcp:// and wss://

	Out   io.Writer         // received messages, one line each (required)
	Log   *log.Logger       // progress and errors (default: discard)
	Ready func(addr string) // called once listening (with the bound address) or dialed
}

func (c *Config) setDefaults() {
	if c.Repeat == 0 {
		c.Repeat = 1
	}
	if c.Peers == 0 {
		c.Peers = 1
	}
	if c.SurveyTime == 0 {
		c.SurveyTime = time.Second
	}
	if c.MaxRecvSize == 0 {
		c.MaxRecvSize = 64 << 20
	}
	if c.Linger == 0 {
		c.Linger = time.Second
	}
	if c.Log == nil {
		c.Log = log.New(io.Discard, "", 0)
	}
	if c.Op == "" {
		c.Op = OpNone
		if c.Protocol == "rep" || c.Protocol == "respondent" {
			c.Op = OpEcho
		}
	}
}

func (c *Config) validate() error {
	if _, ok := newSockets[c.Protocol]; !ok {
		return fmt.Errorf("%w: unknown protocol %q (want one of %s)", ErrUsage, c.Protocol, strings.Join(Protocols(), ", "))
	}
	if c.URL == "" {
		return fmt.Errorf("%w: no URL", ErrUsage)
	}
	switch c.Op {
	case OpNone, OpEcho, OpReverse:
	default:
		return fmt.Errorf("%w: unknown op %q (want echo, reverse or none)", ErrUsage, c.Op)
	}
	if c.Out == nil {
		return fmt.Errorf("%w: no Out writer", ErrUsage)
	}
	if (strings.HasPrefix(c.URL, "tls+tcp://") || strings.HasPrefix(c.URL, "wss://")) && c.TLS == nil {
		return fmt.Errorf("%w: %s needs TLS material (certificate and key to listen, CA to dial)", ErrUsage, c.URL)
	}
	return nil
}

// peer is one running Config.
type peer struct {
	cfg   Config
	sock  mangos.Socket
	peers *peerWatch
	outMu sync.Mutex
	sent  atomic.Bool // something was sent: linger before closing
}

// Run opens the socket, calls Ready and plays the protocol until ctx is
// done, a "quit" message or command arrives, Commands ends, Count messages
// were received, or (req, surveyor) all requests were answered. It returns
// nil in all these cases and an error only when the peer could not start
// (bad Config, listen or dial failure, TLS handshake refused).
func Run(ctx context.Context, cfg Config) error {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	sock, err := newSockets[cfg.Protocol]()
	if err != nil {
		return err
	}
	defer sock.Close()
	p := &peer{cfg: cfg, sock: sock, peers: watchPeers(sock, cfg.Log)}
	if err := p.setOptions(); err != nil {
		return err
	}
	addr, err := p.open()
	if err != nil {
		return err
	}
	cfg.Log.Printf("%s %s on %s", map[bool]string{true: "dialed", false: "listening"}[cfg.Dial], cfg.Protocol, addr)
	if cfg.Ready != nil {
		cfg.Ready(addr)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Closing the socket is what unblocks Send and Recv.
	closed := make(chan struct{})
	go func() {
		<-ctx.Done()
		_ = sock.Close()
		close(closed)
	}()

	sends := p.feed(ctx)
	p.play(ctx, sends)
	if ctx.Err() == nil && p.sent.Load() {
		p.linger(ctx)
	}
	cancel()
	<-closed
	return nil
}

func (p *peer) setOptions() error {
	s, c := p.sock, p.cfg
	if err := s.SetOption(mangos.OptionMaxRecvSize, c.MaxRecvSize); err != nil {
		return err
	}
	switch c.Protocol {
	case "sub":
		if len(c.Topics) == 0 {
			return s.SetOption(mangos.OptionSubscribe, []byte{})
		}
		for _, t := range c.Topics {
			if err := s.SetOption(mangos.OptionSubscribe, t); err != nil {
				return err
			}
		}
	case "surveyor":
		return s.SetOption(mangos.OptionSurveyTime, c.SurveyTime)
	}
	return nil
}

func (p *peer) open() (string, error) {
	opts := map[string]interface{}{}
	if p.cfg.TLS != nil {
		opts[mangos.OptionTLSConfig] = p.cfg.TLS
	}
	if p.cfg.Dial {
		d, err := p.sock.NewDialer(p.cfg.URL, opts)
		if err != nil {
			return "", err
		}
		if err := d.Dial(); err != nil {
			return "", fmt.Errorf("dial %s: %w", p.cfg.URL, err)
		}
		return p.cfg.URL, nil
	}
	l, err := p.sock.NewListener(p.cfg.URL, opts)
	if err != nil {
		return "", err
	}
	if err := l.Listen(); err != nil {
		return "", fmt.Errorf("listen %s: %w", p.cfg.URL, err)
	}
	return l.Address(), nil
}

// feed sends the bodies to send down a channel: Values Repeat times, then
// the Commands. The channel is closed when there is nothing more: at once
// without Commands, else at "quit" or the end of Commands.
func (p *peer) feed(ctx context.Context) <-chan []byte {
	ch := make(chan []byte)
	put := func(b []byte) bool {
		select {
		case ch <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(ch)
		if len(p.cfg.Values) > 0 {
			body, err := p.cfg.Codec.Parse(p.cfg.Values)
			if err != nil {
				p.cfg.Log.Printf("values: %v", err)
				return
			}
			var tick *time.Ticker
			if p.cfg.Interval > 0 {
				tick = time.NewTicker(p.cfg.Interval)
				defer tick.Stop()
			}
			for i := 0; p.cfg.Repeat < 0 || i < p.cfg.Repeat; i++ {
				if tick != nil && i > 0 {
					select {
					case <-tick.C:
					case <-ctx.Done():
						return
					}
				}
				if !put(body) {
					return
				}
			}
		}
		if p.cfg.Commands == nil {
			return
		}
		sc := bufio.NewScanner(p.cfg.Commands)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			body, quit, err := parseCommand(sc.Text())
			switch {
			case quit:
				p.cfg.Log.Printf("quit command")
				return
			case err != nil:
				p.cfg.Log.Printf("command ignored: %v", err)
			case body != nil:
				if !put(body) {
					return
				}
			}
		}
	}()
	return ch
}

// parseCommand reads "<codec> <value> ..." or "quit"; blank lines are nil.
func parseCommand(line string) (body []byte, quit bool, err error) {
	f, err := SplitFields(line)
	if err != nil || len(f) == 0 {
		return nil, false, err
	}
	if f[0] == "quit" {
		return nil, true, nil
	}
	c, err := ParseCodec(f[0])
	if err != nil {
		return nil, false, err
	}
	body, err = c.Parse(f[1:])
	if body == nil && err == nil {
		body = []byte{}
	}
	return body, false, err
}

// isQuit reports whether a received message asks the peer to stop: the
// string "quit", with or without its NUL.
func isQuit(b []byte) bool {
	return string(b) == "quit" || string(b) == "quit\x00"
}

func (p *peer) print(prefix string, b []byte) {
	vals, err := p.cfg.Codec.Format(b)
	codec := p.cfg.Codec
	if err != nil {
		p.cfg.Log.Printf("received %d bytes that are not %s (%v); printing them as raw", len(b), codec, err)
		codec = Raw
		vals, _ = Raw.Format(b)
	}
	line := prefix + " " + codec.String()
	if len(vals) > 0 {
		line += " " + strings.Join(vals, " ")
	}
	p.outMu.Lock()
	defer p.outMu.Unlock()
	fmt.Fprintln(p.cfg.Out, line)
}

func (p *peer) printf(format string, args ...interface{}) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	fmt.Fprintf(p.cfg.Out, format, args...)
}

// answer computes the reply to b, or nil for no reply.
func (p *peer) answer(b []byte) []byte {
	switch p.cfg.Op {
	case OpEcho:
		return append([]byte{}, b...)
	case OpReverse:
		r, err := p.cfg.Codec.Reverse(b)
		if err != nil {
			// Never crash on a bad message: answer with nothing.
			p.cfg.Log.Printf("reverse: %v", err)
			return []byte{}
		}
		return r
	}
	return nil
}

func (p *peer) send(ctx context.Context, b []byte) bool {
	if err := p.peers.wait(ctx, func(n int) bool { return n >= p.cfg.Peers }); err != nil {
		return false
	}
	if err := p.sock.Send(b); err != nil {
		p.logErr("send", err)
		return false
	}
	p.sent.Store(true)
	return true
}

func (p *peer) logErr(what string, err error) {
	if !errors.Is(err, mangos.ErrClosed) {
		p.cfg.Log.Printf("%s: %v", what, err)
	}
}

// next takes the next body to send; false when there is none or ctx is done.
func next(ctx context.Context, sends <-chan []byte) ([]byte, bool) {
	select {
	case b, ok := <-sends:
		return b, ok
	case <-ctx.Done():
		return nil, false
	}
}

// play runs the protocol's side until it is done.
func (p *peer) play(ctx context.Context, sends <-chan []byte) {
	switch p.cfg.Protocol {
	case "req":
		p.playReq(ctx, sends)
	case "surveyor":
		p.playSurveyor(ctx, sends)
	case "rep", "respondent", "sub", "pull":
		// Receivers send nothing of their own; commands only say when to
		// stop, so the end of Commands ends the receive loop.
		if p.cfg.Commands != nil {
			go func() {
				for b, ok := next(ctx, sends); ok; b, ok = next(ctx, sends) {
					if b != nil {
						p.cfg.Log.Printf("a %s peer sends nothing; command ignored", p.cfg.Protocol)
					}
				}
				p.cfg.Log.Printf("commands ended")
				_ = p.sock.Close()
			}()
		}
		p.receive(ctx)
	default: // pair, bus, push, pub
		received := make(chan struct{}) // pair, bus: Count reached or "quit"
		if p.cfg.Protocol == "pair" || p.cfg.Protocol == "bus" {
			go func() {
				defer close(received)
				p.receive(ctx)
			}()
		}
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			for b, ok := next(ctx, sends); ok; b, ok = next(ctx, sends) {
				if !p.send(ctx, b) {
					return
				}
			}
		}()
		// The end of Values alone does not stop a sender (its peers may
		// still be reading); the end of Commands does.
		var commandsEnded <-chan struct{}
		if p.cfg.Commands != nil {
			commandsEnded = sent
		}
		select {
		case <-received:
			// Done receiving; the Values still go out before the end
			// (when there is a finite number of them).
			if p.cfg.Commands == nil && p.cfg.Repeat >= 0 {
				select {
				case <-sent:
				case <-ctx.Done():
				}
			}
		case <-commandsEnded:
		case <-ctx.Done():
		}
	}
}

// receive prints what arrives, replies when the protocol and Op say so,
// and returns at a "quit" message, after Count messages, or on close.
func (p *peer) receive(ctx context.Context) {
	for n := 1; ; n++ {
		b, err := p.sock.Recv()
		if err != nil {
			p.logErr("recv", err)
			return
		}
		p.print(RecvPrefix, b)
		if p.cfg.Protocol != "sub" && p.cfg.Protocol != "pull" {
			if r := p.answer(b); r != nil {
				if err := p.sock.Send(r); err != nil {
					p.logErr("reply", err)
				} else {
					p.sent.Store(true)
				}
			}
		}
		if isQuit(b) || (p.cfg.Count > 0 && n >= p.cfg.Count) {
			return
		}
	}
}

func (p *peer) playReq(ctx context.Context, sends <-chan []byte) {
	n := 0
	for b, ok := next(ctx, sends); ok; b, ok = next(ctx, sends) {
		if err := p.sock.Send(b); err != nil {
			p.logErr("request", err)
			return
		}
		r, err := p.sock.Recv()
		if err != nil {
			p.logErr("reply", err)
			return
		}
		p.print(RecvPrefix, r)
		if n++; p.cfg.Count > 0 && n >= p.cfg.Count {
			return
		}
	}
}

func (p *peer) playSurveyor(ctx context.Context, sends <-chan []byte) {
	n := 0
	for b, ok := next(ctx, sends); ok; b, ok = next(ctx, sends) {
		if !p.send(ctx, b) {
			return
		}
		got := 0
		for {
			r, err := p.sock.Recv()
			if errors.Is(err, mangos.ErrProtoState) {
				break // the survey time is over
			}
			if err != nil {
				p.logErr("survey", err)
				return
			}
			got++
			p.print(RecvPrefix, r)
		}
		p.printf("%s %d\n", SurveyDonePrefix, got)
		if n++; p.cfg.Count > 0 && n >= p.cfg.Count {
			return
		}
	}
}

// linger gives the peers a chance to read what was sent last: it waits for
// them to disconnect, up to Linger.
func (p *peer) linger(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Linger)
	defer cancel()
	if err := p.peers.wait(ctx, func(n int) bool { return n == 0 }); err != nil {
		p.cfg.Log.Printf("closing with %d peer(s) still connected", p.peers.count())
	}
}
