package test_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// progressTick is how often the read models are polled.
const progressTick = 250 * time.Millisecond

// publishTimeout is REELAY_PUBLISH_TIMEOUT in the failover scenario: no
// POST may take much longer.
const publishTimeout = 3 * time.Second

// Scenario 4: a three-node cluster (replication 3, min.insync.replicas 2).
// Two instances take load while each broker in turn is killed with kill -9
// and, once the others carry every partition, started again; a third
// instance starts while the last broker is down. Every instance stays ready
// (a blip of a few seconds at most), every POST is answered within the
// publish deadline, with 202 or 503, and every accepted event is applied
// once. Per broker it prints POST p50/p99/max, the seconds each instance was
// unready and the longest time each group made no progress.
func TestFaultClusterLoseEachBroker(t *testing.T) {
	env := faultEnv(t, "REELAY_TEST_KAFKA_CLUSTER_DIR", "REELAY_TEST_DATABASE_URL")
	dir := env["REELAY_TEST_KAFKA_CLUSTER_DIR"]
	raw, err := os.ReadFile(dir + "/bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	bootstrap := strings.TrimSpace(string(raw))
	f := newFleet(t, bootstrap, "REELAY_TOPIC_REPLICATION=3", "REELAY_PUBLISH_TIMEOUT="+publishTimeout.String())
	f.add()
	f.add()
	l := startLoad(f, 4)
	ready := watchReadiness(f)
	progress := watchProgress(f.alive()[0].in, l)
	l.waitAccepted(t, 200)
	began := time.Now()
	for node := 1; node <= 3; node++ {
		from := time.Now()
		kafkaScript(t, "kill-node", dir, strconv.Itoa(node))
		l.waitAccepted(t, 150) // the service keeps accepting
		if node == 3 {
			startAt := time.Now()
			f.add() // fails the test unless it becomes ready
			t.Logf("an instance started with broker 3 down was ready after %.1f s", time.Since(startAt).Seconds())
		}
		kafkaScript(t, "start-node", dir, strconv.Itoa(node))
		waitFullyReplicated(t, strings.Split(bootstrap, ","))
		to := time.Now()
		p50, p99, most, n := l.latencies(from, to)
		t.Logf("FAILOVER broker %d: %d POSTs p50=%dms p99=%dms max=%dms; unready s per instance %s; longest no-progress s movie-group=%.1f analytics-group=%.1f",
			node, n, p50.Milliseconds(), p99.Milliseconds(), most.Milliseconds(), ready.unready(from, to),
			progress.longestStall("movie", from, to), progress.longestStall("analytics", from, to))
	}
	l.finish()
	ready.stop()
	progress.stop()
	if most := ready.longestStretch(); most > 10*time.Second {
		t.Errorf("an instance was unready for %.1f s in one stretch", most.Seconds())
	}
	if _, _, most, _ := l.latencies(began, time.Now()); most > publishTimeout+2*time.Second {
		t.Errorf("a POST took %d ms, beyond the publish deadline of %s", most.Milliseconds(), publishTimeout)
	}
	l.verify(t, f, "cluster-lose-each-broker", began)
}

// waitFullyReplicated waits until every partition of the cluster has all its
// replicas in sync, so that losing the next broker leaves min.insync.replicas.
func waitFullyReplicated(t *testing.T, brokers []string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	eventually(t, 120*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				if len(p.ISR) < len(p.Replicas) || p.Leader < 0 {
					return fmt.Errorf("%s/%d: in sync %v of %v", *tp.Topic, p.Partition, p.ISR, p.Replicas)
				}
			}
		}
		return nil
	})
}

// readiness polls every instance's /readyz and records when each was not
// ready (an error or any status but 200).
type readiness struct {
	mu      sync.Mutex
	samples map[string][]sample // by instance base URL
	done    chan struct{}
	wg      sync.WaitGroup
}

type sample struct {
	at    time.Time
	ready bool
}

func watchReadiness(f *fleet) *readiness {
	r := &readiness{samples: map[string][]sample{}, done: make(chan struct{})}
	client := &http.Client{Timeout: 2 * time.Second}
	r.wg.Go(func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.done:
				return
			case <-tick.C:
			}
			for _, m := range f.alive() {
				at := time.Now()
				resp, err := client.Get(m.in.base + "/readyz")
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					_ = resp.Body.Close()
				}
				r.mu.Lock()
				r.samples[m.in.base] = append(r.samples[m.in.base], sample{at: at, ready: ok})
				r.mu.Unlock()
			}
		}
	})
	return r
}

func (r *readiness) stop() { close(r.done); r.wg.Wait() }

// stretches returns each instance's unready stretches (start, length).
func (r *readiness) stretches() map[string][][2]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][][2]time.Time{}
	for base, ss := range r.samples {
		var start time.Time
		for _, s := range ss {
			switch {
			case !s.ready && start.IsZero():
				start = s.at
			case s.ready && !start.IsZero():
				out[base] = append(out[base], [2]time.Time{start, s.at})
				start = time.Time{}
			}
		}
		if !start.IsZero() {
			out[base] = append(out[base], [2]time.Time{start, ss[len(ss)-1].at})
		}
	}
	return out
}

// unready says, per instance, how many seconds of [from, to) it was unready.
func (r *readiness) unready(from, to time.Time) string {
	var parts []string
	r.mu.Lock()
	bases := slices.Collect(maps.Keys(r.samples))
	r.mu.Unlock()
	stretches := r.stretches()
	for _, base := range bases {
		st := stretches[base]
		var d time.Duration
		for _, s := range st {
			a, b := maxTime(s[0], from), minTime(s[1], to)
			if b.After(a) {
				d += b.Sub(a)
			}
		}
		parts = append(parts, fmt.Sprintf("%s=%.1f", strings.TrimPrefix(base, "http://"), d.Seconds()))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// longestStretch is the longest time any instance was unready in one go.
func (r *readiness) longestStretch() time.Duration {
	var most time.Duration
	for _, st := range r.stretches() {
		for _, s := range st {
			most = max(most, s[1].Sub(s[0]))
		}
	}
	return most
}

// progress polls both read models' view count of each of the load's
// movies (one key, so one partition, each) and records, per tick, which
// counts were behind their accepted events without having moved since the
// tick before: a stall of that partition in that group.
type progress struct {
	mu     sync.Mutex
	stalls map[string][]time.Time // by read model and movie: ticks that stalled
	done   chan struct{}
	wg     sync.WaitGroup
}

func watchProgress(in *instance, l *load) *progress {
	p := &progress{stalls: map[string][]time.Time{}, done: make(chan struct{})}
	client := &http.Client{Timeout: 2 * time.Second}
	last := map[string]float64{}
	paths := map[string]string{"movie": "/api/v1/movies/", "analytics": "/api/v1/analytics/movies/"}
	p.wg.Go(func() {
		tick := time.NewTicker(progressTick)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
			for i, m := range l.movies {
				accepted := float64(l.accepted[i].Load())
				for model, path := range paths {
					var body struct {
						Views float64 `json:"views"`
					}
					if getInto(client, in.base+path+m, &body) != nil {
						continue
					}
					k := model + "/" + m
					if body.Views == last[k] && body.Views < accepted {
						p.mu.Lock()
						p.stalls[k] = append(p.stalls[k], time.Now())
						p.mu.Unlock()
					}
					last[k] = body.Views
				}
			}
		}
	})
	return p
}

func (p *progress) stop() { close(p.done); p.wg.Wait() }

// longestStall is, over the load's movies, the longest run of stalled
// ticks of model in [from, to), in seconds: how long a partition of its
// group had events to apply and applied none.
func (p *progress) longestStall(model string, from, to time.Time) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var most time.Duration
	for k, ticks := range p.stalls {
		if !strings.HasPrefix(k, model+"/") {
			continue
		}
		var run time.Duration
		var prev time.Time
		for _, at := range ticks {
			if at.Before(from) || !at.Before(to) {
				continue
			}
			if !prev.IsZero() && at.Sub(prev) < 3*progressTick {
				run += at.Sub(prev)
			} else {
				run = progressTick
			}
			most = max(most, run)
			prev = at
		}
	}
	return most.Seconds()
}

// getInto GETs url and decodes its JSON body into v.
func getInto(client *http.Client, url string, v any) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
