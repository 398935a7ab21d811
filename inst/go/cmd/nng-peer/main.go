// Command nng-peer plays one side of any NNG protocol, over any transport,
// against R's nanonext (or anything else that speaks NNG).
//
//	nng-peer <protocol> <url> [flags] [values...]
//
// It listens on url (or dials it with -dial), prints every message it
// receives to stdout as "mangoro-recv <codec> <value> ...", and sends the
// values given after the flags, then the commands read from stdin with
// -stdin ("<codec> <value> ..." or "quit"). Logs go to stderr. It follows
// mangoro's process contract through rgoipc.RunProcess: with
// MANGORO_PARENT=stdin (and no -stdin) the end of stdin stops it; with
// MANGORO_READY=stdout it first prints "mangoro-ready <url>" once listening
// (with the real port when the url asks for port 0) or dialed.
//
// It stops on SIGINT/SIGTERM, on a received "quit" message, at "quit" or
// the end of stdin (with -stdin), after -count messages, or, for req and
// surveyor, when all requests are answered. Exit status: 0 for these,
// 1 when it cannot listen or dial (for example a refused TLS handshake),
// 2 for bad arguments.
//
// Examples:
//
//	nng-peer rep tcp://127.0.0.1:0 -codec float64 -op reverse
//	nng-peer req ipc:///tmp/r.sock -dial -codec float64 -- 1 2.5 -3
//	nng-peer pub ws://127.0.0.1:5555/news -stdin -codec string
//	nng-peer sub tls+tcp://127.0.0.1:5556 -dial -topic fruit -tls-ca cert.pem
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"strings"

	"mangoro/internal/nngpeer"
	"mangoro/pkg/rgoipc"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	logger := log.New(os.Stderr, "[nng-peer] ", 0)
	if len(args) < 2 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(os.Stderr, "usage: nng-peer <protocol> <url> [flags] [values...]\nprotocols: %s\n",
			strings.Join(nngpeer.Protocols(), " "))
		return 2
	}
	cfg := nngpeer.Config{Protocol: args[0], URL: args[1], Out: os.Stdout}
	logger.SetPrefix("[nng-peer " + cfg.Protocol + "] ")
	cfg.Log = logger

	fs := flag.NewFlagSet("nng-peer", flag.ContinueOnError)
	var (
		codec, topicCodec string
		topics            stringList
		stdin             bool
		tlsFiles          nngpeer.TLSFiles
		serverName        string
	)
	fs.BoolVar(&cfg.Dial, "dial", false, "dial the url instead of listening on it")
	fs.StringVar(&codec, "codec", "string", "message layout: raw, float64 (double), int32 (integer), string (character)")
	fs.StringVar(&cfg.Op, "op", "", "rep, respondent, pair, bus: reply with echo, reverse or none (default echo for rep and respondent, else none)")
	fs.IntVar(&cfg.Count, "count", 0, "stop after this many received messages, replies or surveys (0: no limit)")
	fs.IntVar(&cfg.Repeat, "repeat", 1, "send the values this many times (-1: until stopped)")
	fs.DurationVar(&cfg.Interval, "interval", 0, "time between repeated sends (e.g. 5ms)")
	fs.IntVar(&cfg.Peers, "peers", 1, "wait for this many connected peers before sending")
	fs.Var(&topics, "topic", "sub: subscribe to this topic (repeatable; none: all topics)")
	fs.StringVar(&topicCodec, "topic-codec", "string", "sub: codec of the -topic values (string topics match without their NUL)")
	fs.DurationVar(&cfg.SurveyTime, "survey-time", 0, "surveyor: how long each survey collects responses (default 1s)")
	fs.BoolVar(&stdin, "stdin", false, `read commands from stdin: "<codec> <value> ..." sends, "quit" or end of input stops`)
	fs.IntVar(&cfg.MaxRecvSize, "max-recv-size", 0, "largest message accepted, in bytes (default 64 MiB)")
	fs.DurationVar(&cfg.Linger, "linger", 0, "before closing, wait up to this long for peers to leave (default 1s)")
	fs.StringVar(&tlsFiles.CertFile, "tls-cert", "", "PEM certificate file (env "+nngpeer.EnvTLSCert+" may hold the PEM instead)")
	fs.StringVar(&tlsFiles.KeyFile, "tls-key", "", "PEM private key file (env "+nngpeer.EnvTLSKey+")")
	fs.StringVar(&tlsFiles.CAFile, "tls-ca", "", "PEM CA file to verify the peer (env "+nngpeer.EnvTLSCA+")")
	fs.StringVar(&serverName, "tls-server-name", "", "dial: name the server certificate must carry (default: the url's host)")
	if err := fs.Parse(args[2:]); err != nil {
		return 2
	}
	cfg.Values = fs.Args()

	var err error
	if cfg.Codec, err = nngpeer.ParseCodec(codec); err != nil {
		logger.Print(err)
		return 2
	}
	tc, err := nngpeer.ParseCodec(topicCodec)
	if err != nil {
		logger.Print(err)
		return 2
	}
	for _, t := range topics {
		b, err := nngpeer.Topic(tc, t)
		if err != nil {
			logger.Print(err)
			return 2
		}
		cfg.Topics = append(cfg.Topics, b)
	}
	if !tlsFiles.Empty(os.Getenv) {
		if serverName == "" && cfg.Dial {
			if u, err := url.Parse(cfg.URL); err == nil {
				serverName = u.Hostname()
			}
		}
		if cfg.TLS, err = tlsFiles.Config(!cfg.Dial, serverName, os.Getenv); err != nil {
			logger.Print(err)
			return 2
		}
	}
	if stdin {
		// The commands own stdin; their end stops the peer, which is what
		// MANGORO_PARENT=stdin asks for, so RunProcess must not read it.
		cfg.Commands = os.Stdin
		os.Unsetenv("MANGORO_PARENT")
	}
	listen := cfg.URL
	if cfg.Dial {
		listen = "" // the socket file belongs to whoever listens
	}
	err = rgoipc.RunProcess(listen, func(ctx context.Context, ready func(string)) error {
		cfg.Ready = ready
		err := nngpeer.Run(ctx, cfg)
		if ctx.Err() != nil {
			logger.Printf("stopping: %v", context.Cause(ctx))
		}
		return err
	})
	if err != nil {
		logger.Print(err)
		if errors.Is(err, nngpeer.ErrUsage) {
			return 2
		}
		return 1
	}
	logger.Print("done")
	return 0
}
