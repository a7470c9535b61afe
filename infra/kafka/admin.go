package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Admin creates topics and checks that the cluster answers.
type Admin struct {
	admin             sarama.ClusterAdmin
	partitions        int32
	replicationFactor int16
}

// NewAdmin connects to brokers (with WithSecurity's TLS and SASL, if given).
// Topics it creates get partitions and replicationFactor. Refused SASL
// credentials and an untrusted broker certificate fail within seconds with
// ErrAuthentication or ErrUntrustedCertificate.
func NewAdmin(brokers []string, partitions int32, replicationFactor int16, opts ...Option) (*Admin, error) {
	sec := applyOptions(opts).security
	a, err := sarama.NewClusterAdmin(brokers, baseConfig("reelay-admin", sec))
	if err != nil {
		return nil, connectError("kafka admin", brokers, sec, err)
	}
	return &Admin{admin: a, partitions: partitions, replicationFactor: replicationFactor}, nil
}

// EnsureTopics creates every topic that does not exist, existing topics are
// left as they are, and waits until the cluster lists them all: a broker
// answers CreateTopics before every broker's metadata has the topic.
func (a *Admin) EnsureTopics(topics ...string) error {
	existing, err := a.admin.ListTopics()
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	created := false
	for _, t := range topics {
		if _, ok := existing[t]; ok {
			continue
		}
		err := a.admin.CreateTopic(t, &sarama.TopicDetail{NumPartitions: a.partitions, ReplicationFactor: a.replicationFactor}, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", t, err)
		}
		created = true
	}
	if !created {
		return nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		existing, err = a.admin.ListTopics()
		missing := ""
		for _, t := range topics {
			if _, ok := existing[t]; !ok && err == nil {
				missing = t
			}
		}
		if err == nil && missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s not listed 30 s after creation (%v)", missing, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Close disconnects.
func (a *Admin) Close() error { return a.admin.Close() }
