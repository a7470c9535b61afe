package kafka

import (
	"fmt"
	"net"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is an in-process Kafka-protocol broker (kfake) that persists its
// topics, records and committed offsets under a data directory, so a restart
// on the same directory resumes where it stopped. Any Kafka client, kcat
// included, can connect to Addr.
type Embedded struct {
	cluster *kfake.Cluster
	addr    string
}

// StartEmbedded listens on addr (host:port; port 0 picks a free one) and
// keeps its log in dataDir/kafka.
func StartEmbedded(addr, dataDir string) (*Embedded, error) {
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.DataDir(filepath.Join(dataDir, "kafka")),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, addr) }),
	)
	if err != nil {
		return nil, fmt.Errorf("embedded kafka on %s: %w", addr, err)
	}
	return &Embedded{cluster: c, addr: c.ListenAddrs()[0]}, nil
}

// Addr is the address clients connect to.
func (e *Embedded) Addr() string { return e.addr }

// Close stops the broker and flushes its log to disk.
func (e *Embedded) Close() { e.cluster.Close() }
