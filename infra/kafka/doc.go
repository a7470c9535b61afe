// Package kafka adapts Apache Kafka and the embedded Kafka-protocol broker
// (kfake) to Reelay: the CloudEvents marshaler, the process's one idempotent
// producer (Publisher: a Watermill publisher on Sarama's asynchronous
// producer, through which Events also sends the API's records), the KeyedSubscriber (Watermill on franz-go: several
// keys of a partition in flight, order per key, runs of a partition's ready
// records as one message, pattern subscriptions),
// topic administration, TLS and SASL, and the murmur2 partitioner.
package kafka
