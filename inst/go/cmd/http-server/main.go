// Command http-server serves static files over HTTP(S), controlled from R
// over rgoipc. Usage: http-server <url>, e.g. http-server ipc:///tmp/x.sock.
//
// It offers startServer, stopServer and serverStatus (see
// mangoro/internal/httpserve.Register); R's mangoro_http_start(),
// mangoro_http_stop() and mangoro_http_status() call them. Several HTTP
// servers may run at once, one per address. Requests are logged to
// standard error. When the program shuts down (SIGTERM, or its R session
// ends) the HTTP servers stop gracefully within rgoipc's grace period.
package main

import (
	"context"
	"log"
	"os"
	"path/filepath"

	"mangoro/internal/httpserve"
	"mangoro/pkg/rgoipc"
)

func main() {
	logger := log.New(os.Stderr, "["+filepath.Base(os.Args[0])+"] ", log.LstdFlags)
	reg := rgoipc.NewRegistry()
	manager := httpserve.NewManager(logger)
	if err := httpserve.Register(reg, manager); err != nil {
		logger.Fatal(err)
	}
	rgoipc.Main(reg, rgoipc.WithOnShutdown(func(ctx context.Context) {
		_, _ = manager.Stop(ctx, "") // "" stops every server
	}))
}
