package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"go.uber.org/fx"

	"github.com/reelay/reelay/config"
)

// PprofModule serves the runtime profiles of net/http/pprof
// (/debug/pprof/...) on REELAY_PPROF_ADDR, a loopback address, on a mux of
// its own: nothing else is served there and the API never serves profiles.
// Off (no listener) when the variable is empty, the default. It starts first
// and stops last, so start-up and shutdown can be profiled too.
var PprofModule = fx.Module("pprof", fx.Invoke(servePprof))

// servePprof listens in OnStart (a busy address fails start-up) and closes
// the listener in OnStop without waiting for a profile being recorded.
func servePprof(lc fx.Lifecycle, cfg config.Config, logger *slog.Logger) {
	if cfg.PprofAddr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", cfg.PprofAddr)
			if err != nil {
				return fmt.Errorf("pprof on %s (%s): %w", cfg.PprofAddr, config.EnvPprofAddr, err)
			}
			logger.Info("pprof listening", "addr", ln.Addr().String())
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					logger.Warn("pprof stopped", "err", err)
				}
			}()
			return nil
		},
		OnStop: func(context.Context) error { return srv.Close() },
	})
}
