package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/reelay/reelay/config"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.EmbeddedKafkaAddr != "127.0.0.1:9092" || !c.Embedded() {
		t.Fatalf("addresses: %+v", c)
	}
	if c.DatabaseURL != "data/reelay.db" || c.Postgres() {
		t.Fatalf("database: %q", c.DatabaseURL)
	}
	if c.TopicPartitions != 6 || c.TopicReplication != 1 || c.ShutdownTimeout != 30*time.Second {
		t.Fatalf("numbers: %+v", c)
	}
	if strings.Join(c.ConsumerGroups, ",") != "movie-group,analytics-group,notif-group" {
		t.Fatalf("groups: %v", c.ConsumerGroups)
	}
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		config.EnvKafkaBrokers:   "k1:9092, k2:9092",
		config.EnvDatabaseURL:    "postgres://u@h/db",
		config.EnvConsumerGroups: "notif-group",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedded() || len(c.KafkaBrokers) != 2 || c.KafkaBrokers[1] != "k2:9092" || !c.Postgres() {
		t.Fatalf("%+v", c)
	}
	if !c.RunsGroup("notif-group") || c.RunsGroup("movie-group") {
		t.Fatalf("groups: %v", c.ConsumerGroups)
	}
	none, err := config.Load(env(map[string]string{config.EnvConsumerGroups: "none"}))
	if err != nil || len(none.ConsumerGroups) != 0 {
		t.Fatalf("none: %v %v", none.ConsumerGroups, err)
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, env, value string
	}{
		{"partitions not a number", config.EnvTopicPartitions, "six"},
		{"partitions zero", config.EnvTopicPartitions, "0"},
		{"replication too high", config.EnvTopicReplication, "99"},
		{"shutdown not a duration", config.EnvShutdownTimeout, "soon"},
		{"shutdown negative", config.EnvShutdownTimeout, "-1s"},
		{"http addr", config.EnvHTTPAddr, "8080"},
		{"brokers", config.EnvKafkaBrokers, "localhost"},
		{"database scheme", config.EnvDatabaseURL, "mysql://x"},
		{"webhook", config.EnvNotifyWebhookURL, "ftp://x"},
		{"unknown group", config.EnvConsumerGroups, "movie-group,billing-group"},
		{"log level", config.EnvLogLevel, "loud"},
		{"idempotency ttl not a duration", config.EnvIdempotencyTTL, "a day"},
		{"idempotency ttl zero", config.EnvIdempotencyTTL, "0s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(env(map[string]string{tc.env: tc.value}))
			if err == nil {
				t.Fatalf("%s=%s accepted", tc.env, tc.value)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.env) || !strings.Contains(msg, tc.value) {
				t.Fatalf("error must be one line naming %s and %q: %q", tc.env, tc.value, msg)
			}
		})
	}
}
