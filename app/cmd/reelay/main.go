// Command reelay runs the Reelay service: the HTTP API and the movie,
// analytics and notification consumers, on the embedded Kafka broker and
// SQLite unless REELAY_KAFKA_BROKERS and REELAY_DATABASE_URL say otherwise.
package main

import (
	"fmt"
	"os"

	"github.com/reelay/reelay/app"
	"github.com/reelay/reelay/config"
)

func main() {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(app.Run(cfg, os.Stderr))
}
