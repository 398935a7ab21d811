package httpserve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"mangoro/pkg/rgoipc"
)

// DefaultGrace is how long stopServer lets requests in flight finish when
// the caller does not say.
const DefaultGrace = 5 * time.Second

// statusType is the result of all three functions: one row per server.
var statusType = rgoipc.Struct(
	rgoipc.Field{Name: "status", Type: rgoipc.String()},
	rgoipc.Field{Name: "message", Type: rgoipc.String()},
	rgoipc.Field{Name: "addr", Type: rgoipc.String()},
	rgoipc.Field{Name: "url", Type: rgoipc.String()},
	rgoipc.Field{Name: "dir", Type: rgoipc.String()},
	rgoipc.Field{Name: "prefix", Type: rgoipc.String()},
	rgoipc.Field{Name: "tls", Type: rgoipc.Bool()},
)

func opt(name string, t rgoipc.Type, def any) rgoipc.Arg {
	return rgoipc.Arg{Name: name, Type: t, Optional: true, Default: def}
}

// Outcome is the status column of startServer and stopServer replies when
// they succeed (serverStatus reports the state instead).
const Outcome = "ok"

// Register adds startServer, stopServer and serverStatus, backed by m, to
// reg. Each takes one row of arguments and returns one row per server with
// the columns status, message, addr, url, dir, prefix and tls; addr, url,
// dir and prefix are NA when no server is concerned. The status is Outcome
// ("ok") for startServer and stopServer, the state ("running" or
// "stopped") for serverStatus; the messages are those of Status.Message.
// startServer's listing and dotfiles are NA when not given, meaning Auto
// (see Config).
func Register(reg *rgoipc.Registry, m *Manager) error {
	if err := reg.HandleFunc("startServer", rgoipc.Signature{
		Args: []rgoipc.Arg{
			{Name: "addr", Type: rgoipc.String()},
			opt("dir", rgoipc.String(), "."),
			opt("prefix", rgoipc.String(), "/"),
			opt("cors", rgoipc.Bool(), false),
			opt("coop", rgoipc.Bool(), false),
			opt("tls", rgoipc.Bool(), false),
			opt("cert", rgoipc.String(), ""),
			opt("key", rgoipc.String(), ""),
			opt("silent", rgoipc.Bool(), false),
			opt("listing", rgoipc.Bool(), nil),
			opt("dotfiles", rgoipc.Bool(), nil),
		},
		Returns: statusType,
	}, m.rpcStart, rgoipc.Describe("Serves the directory dir under the URL path prefix at addr "+
		"(\"host:port\", or a port for 127.0.0.1; port 0 picks a free one), over HTTPS when tls "+
		"(cert and key are PEM files); listing and dotfiles default (NA) to on for a loopback address, off for "+
		"any other; returns the bound address and URL once listening")); err != nil {
		return err
	}
	if err := reg.HandleFunc("stopServer", rgoipc.Signature{
		Args: []rgoipc.Arg{
			opt("addr", rgoipc.String(), ""),
			opt("grace", rgoipc.Float64(), float64(DefaultGrace/time.Millisecond)),
		},
		Returns: statusType,
	}, m.rpcStop, rgoipc.Describe("Stops the server at addr (\"\" = every server) gracefully: requests "+
		"in flight may finish for grace milliseconds, then connections are closed")); err != nil {
		return err
	}
	return reg.HandleFunc("serverStatus", rgoipc.Signature{
		Args:    []rgoipc.Arg{opt("addr", rgoipc.String(), "")},
		Returns: statusType,
	}, m.rpcStatus, rgoipc.Describe("Reports the server at addr (\"\" = every server): running with its URL, or stopped"))
}

func (m *Manager) rpcStart(_ context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
	var cfg Config
	r := scalars{args: args}
	cfg.Addr = r.str("addr")
	cfg.Dir = r.str("dir")
	cfg.Prefix = r.str("prefix")
	cfg.CORS = r.flag("cors")
	cfg.COOP = r.flag("coop")
	cfg.TLS = r.flag("tls")
	cfg.CertFile = r.str("cert")
	cfg.KeyFile = r.str("key")
	cfg.Silent = r.flag("silent")
	cfg.Listing = r.toggle("listing")
	cfg.Dotfiles = r.toggle("dotfiles")
	if r.err != nil {
		return nil, rgoipc.Coded("bad_arguments", r.err)
	}
	st, err := m.Start(cfg)
	if err != nil {
		return nil, coded(err)
	}
	return statusRecord(args, Outcome, []Status{st})
}

func (m *Manager) rpcStop(ctx context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
	r := scalars{args: args}
	addr := r.str("addr")
	grace := r.num("grace")
	if r.err == nil && (math.IsNaN(grace) || grace < 0 || grace > 24*3600*1000) {
		r.err = fmt.Errorf("grace must be between 0 and 86400000 milliseconds, got %v", grace)
	}
	if r.err != nil {
		return nil, rgoipc.Coded("bad_arguments", r.err)
	}
	// Detached from ctx: a server shutdown must not cut the grace short
	// for the HTTP clients, only the grace period does.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(grace*float64(time.Millisecond)))
	defer cancel()
	sts, err := m.Stop(sctx, addr)
	if err != nil {
		return nil, coded(err)
	}
	return statusRecord(args, Outcome, sts)
}

func (m *Manager) rpcStatus(_ context.Context, args *rgoipc.Args) (arrow.RecordBatch, error) {
	r := scalars{args: args}
	addr := r.str("addr")
	if r.err != nil {
		return nil, rgoipc.Coded("bad_arguments", r.err)
	}
	sts, err := m.Status(addr)
	if err != nil {
		return nil, coded(err)
	}
	return statusRecord(args, "", sts)
}

// statusRecord is one row per Status; a non-empty outcome replaces the
// states in the status column.
func statusRecord(args *rgoipc.Args, outcome string, sts []Status) (arrow.RecordBatch, error) {
	n := len(sts)
	state, msg := make([]string, n), make([]string, n)
	addr, url, dir, prefix := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	tls, valid := make([]bool, n), make([]bool, n)
	for i, s := range sts {
		state[i], msg[i], addr[i], url[i], dir[i], prefix[i] = s.State, s.Message, s.Addr, s.URL, s.Dir, s.Prefix
		if outcome != "" {
			state[i] = outcome
		}
		tls[i] = s.TLS
		valid[i] = s.Addr != ""
	}
	res := rgoipc.NewResult(args.Mem())
	sb := array.NewStringBuilder(args.Mem())
	defer sb.Release()
	for _, c := range []struct {
		name  string
		vals  []string
		valid []bool
	}{{"status", state, nil}, {"message", msg, nil}, {"addr", addr, valid}, {"url", url, valid}, {"dir", dir, valid}, {"prefix", prefix, valid}} {
		sb.AppendValues(c.vals, c.valid)
		col := sb.NewArray()
		res.Column(c.name, col)
		col.Release()
	}
	bb := array.NewBooleanBuilder(args.Mem())
	defer bb.Release()
	bb.AppendValues(tls, valid)
	col := bb.NewArray()
	defer col.Release()
	return res.Column("tls", col).Record()
}

// scalars reads one-row arguments, keeping the first error.
type scalars struct {
	args *rgoipc.Args
	err  error
}

func (r *scalars) check(name string, n, nulls int) bool {
	if r.err != nil {
		return false
	}
	switch {
	case n != 1:
		r.err = fmt.Errorf("argument %q: want one value, got %d", name, n)
	case nulls > 0:
		r.err = fmt.Errorf("argument %q: must not be NA", name)
	}
	return r.err == nil
}

func (r *scalars) str(name string) string {
	c := r.args.Column(name).(*array.String)
	if !r.check(name, c.Len(), c.NullN()) {
		return ""
	}
	return c.Value(0)
}

func (r *scalars) flag(name string) bool {
	c := r.args.Column(name).(*array.Boolean)
	if !r.check(name, c.Len(), c.NullN()) {
		return false
	}
	return c.Value(0)
}

// toggle reads a logical that may be NA: NA is Auto.
func (r *scalars) toggle(name string) Switch {
	c := r.args.Column(name).(*array.Boolean)
	if r.err != nil {
		return Auto
	}
	if c.Len() != 1 {
		r.err = fmt.Errorf("argument %q: want one value, got %d", name, c.Len())
		return Auto
	}
	switch {
	case c.IsNull(0):
		return Auto
	case c.Value(0):
		return On
	}
	return Off
}

func (r *scalars) num(name string) float64 {
	c := r.args.Column(name).(*array.Float64)
	if !r.check(name, c.Len(), c.NullN()) {
		return 0
	}
	return c.Value(0)
}

// coded gives a Manager error its error code (see kindError), so R tells
// "address in use" from "already running" without reading the message.
func coded(err error) error {
	var ke *kindError
	if errors.As(err, &ke) && ke.code != "" {
		return rgoipc.Coded(ke.code, err)
	}
	return err
}
