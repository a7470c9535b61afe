package kafka

import "github.com/IBM/sarama"

// NewPartitioner is the partitioner of Reelay's producer. A record with a key
// goes to partition toPositive(murmur2(key)) % partitions, counted over all
// partitions of the topic whether available or not: what Java's client
// (Utils.toPositive(Utils.murmur2(keyBytes)) % numPartitions, in its built-in
// partitioner since 3.3 and its DefaultPartitioner before), kafkajs's default
// partitioner (2.x), franz-go's default and librdkafka's murmur2_random
// choose. So a key lands on the same partition whichever of them produced it,
// and the records of one key stay in order in a mixed deployment. Sarama's own
// default (NewHashPartitioner, FNV-1a) does not agree with any of them.
//
// The key is hashed as its bytes; an empty key is a key and is hashed, as
// Java does (Reelay's marshaler writes no key at all for an empty entity id).
// A record without a key goes to a random available partition: like Java's
// and kafkajs's null-key strategies (sticky per batch and round-robin) it
// spreads the records and promises no order.
//
// It is Sarama's NewMurmur2Partitioner, whose murmur2 is the Java client's
// (seed 0x9747b28c, little-endian blocks); partitioner_test.go checks it
// against values computed with Kafka's own kafka-clients jar.
func NewPartitioner(topic string) sarama.Partitioner {
	return sarama.NewMurmur2Partitioner(topic)
}
