// Package kafka adapts Apache Kafka and the embedded Kafka-protocol broker
// (kfake) to Reelay: the CloudEvents marshaler, the idempotent publisher
// (Watermill on Sarama), the KeyedSubscriber (Watermill on franz-go: several
// keys of a partition in flight, order per key, runs of a partition's ready
// records as one message, pattern subscriptions),
// topic administration, TLS and SASL, and the murmur2 partitioner.
package kafka
