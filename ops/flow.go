package ops

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// FlowCounters are the counters the flow is read from: this instance's
// reelay_events_total, reelay_retries_total and reelay_published_total.
type FlowCounters struct {
	Events    *prometheus.CounterVec // group, handler, outcome
	Retries   *prometheus.CounterVec // group, handler
	Published *prometheus.CounterVec // topic, outcome (ok, error)
}

// Flow is what went through this instance: totals since it started, and
// rates per second over the last minutes, one value per interval ending at
// each of Times (oldest first). It is one instance's: the cluster's flow is
// the sum over instances.
type Flow struct {
	SampleSeconds float64     `json:"sampleSeconds"`
	Times         []time.Time `json:"times"`
	Topics        []TopicFlow `json:"topics"`
	Groups        []GroupFlow `json:"groups"`
}

// TopicFlow is what this instance published to one topic.
type TopicFlow struct {
	Topic     string    `json:"topic"`
	Published int64     `json:"published"`
	Failed    int64     `json:"failed"`
	PerSecond []float64 `json:"perSecond"`
}

// GroupFlow is what this instance's handlers of one consumer group did:
// outcome counts (as reelay_events_total names them) and retries, in all
// and by handler, and consumed (every outcome) and applied per second.
type GroupFlow struct {
	Group             string           `json:"group"`
	Outcomes          map[string]int64 `json:"outcomes"`
	Retried           int64            `json:"retried"`
	Handlers          []HandlerFlow    `json:"handlers"`
	ConsumedPerSecond []float64        `json:"consumedPerSecond"`
	AppliedPerSecond  []float64        `json:"appliedPerSecond"`
}

// HandlerFlow is one handler's outcome counts and retries.
type HandlerFlow struct {
	Handler  string           `json:"handler"`
	Outcomes map[string]int64 `json:"outcomes"`
	Retried  int64            `json:"retried"`
}

// flowSample is the counters' totals at one time, by topic and by group.
type flowSample struct {
	at        time.Time
	published map[string]float64
	consumed  map[string]float64
	applied   map[string]float64
}

// FlowMonitor samples the flow counters every second and keeps the last
// five minutes of samples. Its memory is bounded by the counters' label
// sets, which Reelay's code bounds (topics it publishes to, registered
// groups and handlers), times 300 samples.
type FlowMonitor struct {
	counters FlowCounters
	every    time.Duration
	keep     int
	now      func() time.Time

	mu      sync.Mutex
	samples []flowSample // oldest first, at most keep+1
}

// NewFlowMonitor samples counters every second, once Run runs.
func NewFlowMonitor(counters FlowCounters) *FlowMonitor {
	return &FlowMonitor{counters: counters, every: time.Second, keep: 300, now: time.Now}
}

// SetClock replaces the clock samples are timed by, for tests.
func (f *FlowMonitor) SetClock(now func() time.Time) { f.now = now }

// Run samples until ctx ends.
func (f *FlowMonitor) Run(ctx context.Context) {
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	for {
		f.Sample()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Sample reads the counters once; Run calls it every second.
func (f *FlowMonitor) Sample() {
	s := flowSample{at: f.now(), published: map[string]float64{}, consumed: map[string]float64{}, applied: map[string]float64{}}
	for _, m := range collect(f.counters.Published) {
		if m.labels["outcome"] == "ok" {
			s.published[m.labels["topic"]] += m.value
		}
	}
	for _, m := range collect(f.counters.Events) {
		g := m.labels["group"]
		s.consumed[g] += m.value
		if m.labels["outcome"] == "applied" {
			s.applied[g] += m.value
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.samples = append(f.samples, s)
	if len(f.samples) > f.keep+1 {
		f.samples = slices.Delete(f.samples, 0, len(f.samples)-f.keep-1)
	}
}

// Flow returns the totals as they are now and the rates of the samples kept.
func (f *FlowMonitor) Flow() Flow {
	out := Flow{SampleSeconds: f.every.Seconds(), Times: []time.Time{}, Topics: []TopicFlow{}, Groups: []GroupFlow{}}
	topics := map[string]*TopicFlow{}
	topic := func(name string) *TopicFlow {
		if topics[name] == nil {
			topics[name] = &TopicFlow{Topic: name}
		}
		return topics[name]
	}
	for _, m := range collect(f.counters.Published) {
		t := topic(m.labels["topic"])
		if m.labels["outcome"] == "ok" {
			t.Published += int64(m.value)
		} else {
			t.Failed += int64(m.value)
		}
	}
	groups := map[string]*GroupFlow{}
	handlers := map[string]map[string]*HandlerFlow{} // by group and name
	group := func(name string) *GroupFlow {
		if groups[name] == nil {
			groups[name] = &GroupFlow{Group: name, Outcomes: map[string]int64{}}
			handlers[name] = map[string]*HandlerFlow{}
		}
		return groups[name]
	}
	handler := func(groupName, name string) (*GroupFlow, *HandlerFlow) {
		g := group(groupName)
		h := handlers[groupName][name]
		if h == nil {
			h = &HandlerFlow{Handler: name, Outcomes: map[string]int64{}}
			handlers[groupName][name] = h
		}
		return g, h
	}
	for _, m := range collect(f.counters.Events) {
		g, h := handler(m.labels["group"], m.labels["handler"])
		g.Outcomes[m.labels["outcome"]] += int64(m.value)
		h.Outcomes[m.labels["outcome"]] += int64(m.value)
	}
	for _, m := range collect(f.counters.Retries) {
		g, h := handler(m.labels["group"], m.labels["handler"])
		g.Retried += int64(m.value)
		h.Retried += int64(m.value)
	}

	f.mu.Lock()
	samples := slices.Clone(f.samples)
	f.mu.Unlock()
	for _, s := range samples {
		for name := range s.published {
			topic(name)
		}
	}
	rates := func(of func(flowSample) float64) []float64 {
		out := make([]float64, 0, max(len(samples)-1, 0))
		for i := 1; i < len(samples); i++ {
			dt := samples[i].at.Sub(samples[i-1].at).Seconds()
			if dt <= 0 {
				out = append(out, 0)
				continue
			}
			out = append(out, math.Round(max(of(samples[i])-of(samples[i-1]), 0)/dt*100)/100)
		}
		return out
	}
	for i := 1; i < len(samples); i++ {
		out.Times = append(out.Times, samples[i].at.UTC())
	}
	for _, name := range sortedKeys(topics) {
		t := topics[name]
		t.PerSecond = rates(func(s flowSample) float64 { return s.published[name] })
		out.Topics = append(out.Topics, *t)
	}
	for _, s := range samples { // a group may have been consumed before its counters were read
		for name := range s.consumed {
			group(name)
		}
	}
	for _, name := range sortedKeys(groups) {
		g := groups[name]
		g.ConsumedPerSecond = rates(func(s flowSample) float64 { return s.consumed[name] })
		g.AppliedPerSecond = rates(func(s flowSample) float64 { return s.applied[name] })
		g.Handlers = []HandlerFlow{}
		for _, h := range sortedKeys(handlers[name]) {
			g.Handlers = append(g.Handlers, *handlers[name][h])
		}
		out.Groups = append(out.Groups, *g)
	}
	return out
}

// counterValue is one series of a counter vector.
type counterValue struct {
	labels map[string]string
	value  float64
}

// collect reads every series of v.
func collect(v *prometheus.CounterVec) []counterValue {
	if v == nil {
		return nil
	}
	ch := make(chan prometheus.Metric)
	go func() { v.Collect(ch); close(ch) }()
	var out []counterValue
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil || d.Counter == nil {
			continue
		}
		c := counterValue{labels: map[string]string{}, value: d.Counter.GetValue()}
		for _, l := range d.Label {
			c.labels[l.GetName()] = l.GetValue()
		}
		out = append(out, c)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
