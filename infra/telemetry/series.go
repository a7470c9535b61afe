package telemetry

import "sync"

// Series resolves the series of a metric vector once per key: the vector's
// WithLabelValues hashes the label values and takes the vector's lock on
// every call, which on a per-request path costs more than the increment.
// K is made of the label values, and must come from a bounded set (a route
// template, not a path): the cache keeps every key it saw.
type Series[K comparable, M any] struct {
	resolve func(K) M
	seen    sync.Map // K → M
}

// NewSeries caches what resolve returns, e.g.
// func(k key) prometheus.Counter { return vec.WithLabelValues(k.a, k.b) }.
func NewSeries[K comparable, M any](resolve func(K) M) *Series[K, M] {
	return &Series[K, M]{resolve: resolve}
}

// Of is the series of k, resolved on first use (by each of the callers
// that race to it first; a vector gives them all the same series).
func (s *Series[K, M]) Of(k K) M {
	if m, ok := s.seen.Load(k); ok {
		return m.(M)
	}
	m, _ := s.seen.LoadOrStore(k, s.resolve(k))
	return m.(M)
}
