package kafka

import (
	"time"

	"github.com/IBM/sarama"
)

// protocolVersion is the Kafka protocol Reelay speaks: new enough for Kafka 4,
// which refuses requests older than Kafka 2.1's, and spoken by the embedded broker.
var protocolVersion = sarama.V3_6_0_0

// baseConfig is the Sarama configuration shared by every client: the
// publisher, every subscriber and the admin connect with sec. Metadata
// retries are few and short, so that a cluster that refuses the client (wrong
// SASL credentials, untrusted certificate) or cannot be reached fails start-up
// within seconds.
func baseConfig(clientID string, sec Security) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = clientID
	c.Version = protocolVersion
	c.Net.DialTimeout = 3 * time.Second
	c.Net.ReadTimeout = 10 * time.Second
	c.Net.WriteTimeout = 10 * time.Second
	c.Metadata.Retry.Max = 2
	c.Metadata.Retry.Backoff = 200 * time.Millisecond
	sec.apply(c)
	return c
}

// producerConfig is an idempotent producer that waits for every in-sync
// replica: a send that returns nil is durable, and a retried send is written
// once. Retries (8 × 250 ms, metadata refreshed before each) ride out a
// partition leader moving to another broker; the caller's deadline
// (REELAY_PUBLISH_TIMEOUT) bounds the wait.
func producerConfig(clientID string, sec Security) *sarama.Config {
	c := baseConfig(clientID, sec)
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Idempotent = true
	c.Net.MaxOpenRequests = 1
	c.Producer.Retry.Max = 8
	c.Producer.Retry.Backoff = 250 * time.Millisecond
	c.Producer.Timeout = 5 * time.Second
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Partitioner = NewPartitioner
	return c
}
