// Package kafka adapts Apache Kafka (through Sarama and Watermill) and the
// embedded Kafka-protocol broker to Reelay: the CloudEvents marshaler, the
// idempotent publisher, per-group subscribers, topic administration and the
// watcher behind pattern subscriptions.
package kafka
