package kafka

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kfake"
)

// ErrOpenToNetwork is returned by StartEmbedded for an address other than
// loopback without SASL: the embedded broker would take anyone's records.
var ErrOpenToNetwork = errors.New("the embedded broker listens beyond loopback only with SASL")

// Embedded is an in-process Kafka-protocol broker (kfake) that persists its
// topics, records and committed offsets under a data directory, so a restart
// on the same directory resumes where it stopped. Any Kafka client, kcat
// included, can connect to Addr.
type Embedded struct {
	cluster *kfake.Cluster // nil before Start
	ln      net.Listener   // bound by NewEmbedded, served from Start
	addr    string
	dir     string
	kopts   []kfake.Opt
}

// StartEmbedded is NewEmbedded then Start.
func StartEmbedded(addr, dataDir string, opts ...Option) (*Embedded, error) {
	e, err := NewEmbedded(addr, dataDir, opts...)
	if err != nil {
		return nil, err
	}
	if err := e.Start(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// NewEmbedded binds addr (host:port; port 0 picks a free one), so that Addr
// is known, and serves nothing until Start, which keeps the broker's log in
// dataDir/kafka. Without options it speaks plaintext and accepts anyone, so
// it refuses (ErrOpenToNetwork) an addr that is not loopback (127.0.0.0/8,
// ::1, localhost). WithSecurity with SASL makes every connection
// authenticate as that user, on any addr; TLS is not served.
//
// The credentials come from the options at every start: the broker keeps
// none on disk (kfake would persist them and prefer them over the options).
func NewEmbedded(addr, dataDir string, opts ...Option) (*Embedded, error) {
	s := applyOptions(opts).security.SASL
	if !s.Enabled() && !loopback(addr) {
		return nil, fmt.Errorf("embedded kafka on %s: %w", addr, ErrOpenToNetwork)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded kafka on %s: %w", addr, err)
	}
	e := &Embedded{ln: ln, addr: ln.Addr().String(), dir: filepath.Join(dataDir, "kafka")}
	e.kopts = []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.DataDir(e.dir),
		kfake.ListenFn(func(string, string) (net.Listener, error) { return e.ln, nil }),
	}
	if s.Enabled() {
		e.kopts = append(e.kopts, kfake.EnableSASL(), kfake.Superuser(s.Mechanism, s.User, s.Password))
	}
	return e, nil
}

// Start loads the log from the data directory and serves the bound address.
func (e *Embedded) Start() error {
	if err := forgetCredentials(e.dir); err != nil {
		return fmt.Errorf("embedded kafka on %s: %w", e.addr, err)
	}
	c, err := kfake.NewCluster(e.kopts...)
	if err != nil {
		return fmt.Errorf("embedded kafka on %s: %w", e.addr, err)
	}
	if err := forgetCredentials(e.dir); err != nil {
		c.Close()
		return fmt.Errorf("embedded kafka on %s: %w", e.addr, err)
	}
	e.cluster = c
	return nil
}

// Addr is the address clients connect to.
func (e *Embedded) Addr() string { return e.addr }

// Close stops the broker and flushes its log to disk (or only releases the
// address, before Start).
func (e *Embedded) Close() {
	if e.cluster == nil {
		_ = e.ln.Close()
		return
	}
	e.cluster.Close()
	_ = forgetCredentials(e.dir)
}

// forgetCredentials removes the SASL users kfake saves in its data dir
// (SCRAM salted, PLAIN in clear text) and would load instead of the
// configured ones at the next start.
func forgetCredentials(dir string) error {
	if err := os.Remove(filepath.Join(dir, "sasl.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// loopback reports whether addr's host only accepts local connections.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
