package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// pollEvery is how often the read models are counted.
const pollEvery = 25 * time.Millisecond

// ingest measures the view route alone (no consumer group runs): a warm-up,
// then -connections closed-loop connections for -duration.
func (h *harness) ingest(ctx context.Context, c cell, b *broker, who string) Row {
	row := Row{Workload: fmt.Sprintf("ingest, %d connections", h.cfg.Connections), Contender: who}
	if err := b.reset(ctx, h.cfg.Partitions); err != nil {
		return row.failed(err)
	}
	dbURL, err := h.database(ctx, c.db, "ingest_"+who, false)
	if err != nil {
		return row.failed(err)
	}
	profiling := who == reelay && h.cfg.ProfileDir != ""
	svc, err := h.startContender(ctx, who, b, dbURL, true, nil, true, profiling)
	if err != nil {
		return row.failed(err)
	}
	defer svc.procs.stop()

	warm := attack(ctx, svc.base, 0, h.cfg.Connections, h.cfg.Movies, min(2*time.Second, h.cfg.Duration/10))
	if warm.accepted == 0 {
		return row.failed(fmt.Errorf("no 202 in the warm-up: %s", warm.firstFailure))
	}
	var profile <-chan error
	if profiling {
		profile = h.recordProfile(ctx, svc.pprof, c, "ingest")
	}
	cpu0, servers0 := svc.procs.cpu(), serversCPU(c)
	l := attack(ctx, svc.base, 0, h.cfg.Connections, h.cfg.Movies, h.cfg.Duration)
	cpu, servers := svc.procs.cpu()-cpu0, serversCPU(c).sub(servers0)
	if profile != nil {
		if err := <-profile; err != nil {
			h.logf("profile: %v", err)
		}
	}
	if err := svc.procs.exited(); err != nil {
		return row.failed(err)
	}
	if l.accepted == 0 {
		return row.failed(fmt.Errorf("no 202: %s", l.firstFailure))
	}
	row.Events, row.Rate = l.accepted, l.rate()
	row.P50, row.P99 = l.p50, l.p99
	row.CPUPerEvent = cpu / time.Duration(l.accepted)
	row.ServersCPUPerEvent = servers.per(l.accepted)
	row.PeakRSS = svc.procs.peakRSS()
	return row
}

// drain preloads -events views, starts the contender with groups and
// measures from the first applied event until every group's read model
// counts all of them.
func (h *harness) drain(ctx context.Context, c cell, b *broker, who string, groups []string) Row {
	row := Row{Workload: "drain " + strings.Join(groups, "+"), Contender: who}
	if err := b.reset(ctx, h.cfg.Partitions); err != nil {
		return row.failed(err)
	}
	began := time.Now()
	if err := b.preload(ctx, h.cfg.Events, h.cfg.Movies); err != nil {
		return row.failed(fmt.Errorf("preload: %w", err))
	}
	h.logf("%s preloaded %d views in %.1f s", c, h.cfg.Events, time.Since(began).Seconds())
	dbURL, err := h.database(ctx, c.db, "drain_"+who, who == baseline)
	if err != nil {
		return row.failed(err)
	}
	models := newReadModels(dbURL, groups)
	defer models.close()
	profiling := h.cfg.ProfileDir != "" && who == reelay
	svc, err := h.startContender(ctx, who, b, dbURL, false, groups, false, profiling)
	if err != nil {
		return row.failed(err)
	}
	defer svc.procs.stop()
	started, srvStarted := time.Now(), serversCPU(c)

	total := int64(h.cfg.Events)
	var (
		t0, t1     time.Time
		cpu0, cpu1 time.Duration
		srv0, srv1 servers
		done       int64 // events applied before t0, averaged over the groups
		profile    <-chan error
	)
	deadline := time.Now().Add(h.cfg.Timeout)
	for t1.IsZero() {
		if err := svc.procs.exited(); err != nil {
			return row.failed(err)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return row.failed(fmt.Errorf("not drained within %s: read models count %v of %d", h.cfg.Timeout, models.counts(ctx), total))
		}
		counts := models.counts(ctx)
		now, cpu, srv := time.Now(), svc.procs.cpu(), serversCPU(c)
		switch {
		case t0.IsZero() && atLeast(counts, total):
			// Drained between two polls: measure from the process's start.
			t0, t1, cpu1, srv0, srv1 = started, now, cpu, srvStarted, srv
		case t0.IsZero() && !atLeast(counts, 1):
			// Not every group has applied an event yet: joining, catching up.
		case t0.IsZero():
			t0, cpu0, srv0 = now, cpu, srv
			done = sum(counts) / int64(len(counts))
			if profiling {
				profile = h.recordProfile(ctx, svc.pprof, c, row.Workload)
			}
		case atLeast(counts, total):
			t1, cpu1, srv1 = now, cpu, srv
		}
		if t1.IsZero() {
			time.Sleep(pollEvery)
		}
	}
	applied := total - done
	row.Events = applied
	row.Rate = float64(applied) / t1.Sub(t0).Seconds()
	row.CPUPerEvent = (cpu1 - cpu0) / time.Duration(applied)
	row.ServersCPUPerEvent = srv1.sub(srv0).per(applied)
	row.PeakRSS = svc.procs.peakRSS()
	if who == reelay {
		h.logf("%s %s: %s", c, row.Workload, batchSizes(ctx, svc.base))
	}
	if profile != nil {
		if err := <-profile; err != nil {
			h.logf("profile: %v", err)
		}
	}
	return row
}

// keepsUp offers a constant rate for -duration to a contender that consumes
// with both groups meanwhile, and measures how long after the last 202 the
// read models hold every accepted event.
func (h *harness) keepsUp(ctx context.Context, c cell, b *broker, who string, rate int) Row {
	row := Row{Workload: fmt.Sprintf("keeps up at %d/s", rate), Contender: who}
	if err := b.reset(ctx, h.cfg.Partitions); err != nil {
		return row.failed(err)
	}
	dbURL, err := h.database(ctx, c.db, "keepsup_"+who, who == baseline)
	if err != nil {
		return row.failed(err)
	}
	groups := []string{groupMovie, groupAnalytics}
	models := newReadModels(dbURL, groups)
	defer models.close()
	svc, err := h.startContender(ctx, who, b, dbURL, true, groups, true, false)
	if err != nil {
		return row.failed(err)
	}
	defer svc.procs.stop()

	cpu0, servers0 := svc.procs.cpu(), serversCPU(c)
	l := attack(ctx, svc.base, rate, h.cfg.Connections, h.cfg.Movies, h.cfg.Duration)
	if l.accepted == 0 {
		return row.failed(fmt.Errorf("no 202: %s", l.firstFailure))
	}
	deadline := time.Now().Add(h.cfg.Timeout)
	for !atLeast(models.counts(ctx), l.accepted) {
		if err := svc.procs.exited(); err != nil {
			return row.failed(err)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return row.failed(fmt.Errorf("not caught up within %s: read models count %v of %d", h.cfg.Timeout, models.counts(ctx), l.accepted))
		}
		time.Sleep(pollEvery)
	}
	caughtUp := time.Now()
	row.Events = l.accepted
	row.Rate = float64(l.accepted) / caughtUp.Sub(l.first).Seconds()
	row.P50, row.P99 = l.p50, l.p99
	row.Lag = max(0, caughtUp.Sub(l.lastAccepted))
	row.HasLag = true
	row.CPUPerEvent = (svc.procs.cpu() - cpu0) / time.Duration(l.accepted)
	row.ServersCPUPerEvent = serversCPU(c).sub(servers0).per(l.accepted)
	row.PeakRSS = svc.procs.peakRSS()
	return row
}
