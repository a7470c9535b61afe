package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.uber.org/dig"

	"github.com/reelay/reelay/config"
)

// Run starts the application for cfg, waits for SIGINT or SIGTERM and stops
// it, draining (see the package doc). It returns the process's exit status:
// 0 after a signal and a clean stop, 2 for a configuration value only the
// wired graph can judge, 1 when start-up or the stop failed otherwise. A
// failure ends in one line on stderr that names its cause and, where one
// applies, the variable to change — not fx's dependency chain.
func Run(cfg config.Config, stderr io.Writer) int {
	a := New(cfg)
	if err := a.Err(); err != nil {
		var invalid *config.InvalidError
		if errors.As(err, &invalid) {
			fmt.Fprintln(stderr, invalid.Error())
			return 2 // as config.Load's errors
		}
		fmt.Fprintln(stderr, "reelay: cannot start: "+Cause(err))
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.StartTimeout())
	defer cancel()
	if err := a.Start(ctx); err != nil {
		fmt.Fprintln(stderr, "reelay: cannot start: "+Cause(err))
		return 1
	}
	<-a.Wait()
	stopCtx, stopCancel := context.WithTimeout(context.Background(), a.StopTimeout())
	defer stopCancel()
	if err := a.Stop(stopCtx); err != nil {
		fmt.Fprintln(stderr, "reelay: stop: "+Cause(err))
		return 1
	}
	return 0
}

// Cause is err without fx's and dig's wrapping (which constructor, which
// hook), on one line.
func Cause(err error) string {
	for {
		if root := dig.RootCause(err); root != err {
			err = root
			continue
		}
		if inner := errors.Unwrap(err); inner != nil && fxWrapped(err.Error()) {
			err = inner
			continue
		}
		break
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// fxWrapped tells fx's own wrapping of a hook's or constructor's error.
func fxWrapped(msg string) bool {
	for _, prefix := range []string{"OnStart hook added by", "OnStop hook added by", "could not build arguments", "failed to build", "received non-nil error"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}
