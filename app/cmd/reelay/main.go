// Command reelay runs the Reelay service: the HTTP API and the movie,
// analytics and notification consumers, on the embedded Kafka broker and
// SQLite unless REELAY_KAFKA_BROKERS and REELAY_DATABASE_URL say otherwise.
// Its subcommands (reelay dlq, lag, topics) operate a running instance; see
// package cli.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/reelay/reelay/app"
	"github.com/reelay/reelay/cli"
	"github.com/reelay/reelay/config"
)

func main() {
	root := cli.New(cli.Deps{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr, Serve: serve})
	os.Exit(cli.Execute(context.Background(), root))
}

// serve is `reelay` and `reelay serve`: exit status 2 for a bad
// configuration value, else app.Run's.
func serve() int {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return app.Run(cfg, os.Stderr)
}
