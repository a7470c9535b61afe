package main

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// load is what one vegeta attack on the view route measured.
type load struct {
	accepted     int64 // 202 answers
	first        time.Time
	lastAccepted time.Time // when the last 202 arrived
	elapsed      time.Duration
	p50, p99     time.Duration // of every request
	firstFailure string
}

// rate is accepted answers per second over the attack.
func (l load) rate() float64 {
	if l.elapsed <= 0 {
		return 0
	}
	return float64(l.accepted) / l.elapsed.Seconds()
}

// attack posts views to base for d with vegeta over conns keep-alive
// connections: as fast as they go when perSecond is 0 (closed loop, conns
// requests in flight), else at that constant rate (open loop, up to conns in
// flight). Each request views the next of movies ids, as one of 100 users.
func attack(ctx context.Context, base string, perSecond, conns, movies int, d time.Duration) load {
	atk := vegeta.NewAttacker(
		vegeta.Connections(conns), vegeta.MaxConnections(conns),
		vegeta.Workers(uint64(conns)), vegeta.MaxWorkers(uint64(conns)),
		vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second),
	)
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var seq atomic.Int64
	header := http.Header{"Content-Type": []string{"application/json"}}
	targeter := func(t *vegeta.Target) error {
		i := int(seq.Add(1))
		t.Method = http.MethodPost
		t.URL = base + "/api/v1/movies/" + movieID(i, movies) + "/views"
		t.Body = fmt.Appendf(nil, `{"userId":"u%d","watchedSeconds":1}`, i%100)
		t.Header = header
		return nil
	}
	pacer := vegeta.Rate{Freq: perSecond, Per: time.Second}

	var (
		m   vegeta.Metrics
		out load
	)
	for res := range atk.Attack(targeter, pacer, d, "views") {
		m.Add(res)
		if res.Code == http.StatusAccepted {
			out.accepted++
			if end := res.Timestamp.Add(res.Latency); end.After(out.lastAccepted) {
				out.lastAccepted = end
			}
		} else if out.firstFailure == "" {
			out.firstFailure = fmt.Sprintf("%d %s %s", res.Code, res.Error, res.Body)
		}
	}
	m.Close()
	out.first = m.Earliest
	out.elapsed = m.End.Sub(m.Earliest)
	out.p50, out.p99 = m.Latencies.P50, m.Latencies.P99
	return out
}
