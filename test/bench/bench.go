package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config chooses the matrix and the sizes of one harness run.
type Config struct {
	// Matrix is a comma-separated list of BROKER+DATABASE cells, or "all".
	Matrix string
	// Workloads is a comma-separated subset of ingest, drain, keepsup.
	Workloads string
	// Duration is the length of the ingest and keeps-up load; a warm-up of
	// a tenth of it (at most 2 s) precedes the measured ingest.
	Duration time.Duration
	// Connections is the number of HTTP connections of the ingest load.
	Connections int
	// Events is the number of views preloaded for each drain.
	Events int
	// Rate is the keeps-up load in requests per second; 0 picks Reelay's
	// ingest events/s in the same cell: its own peak, as the goal
	// asks.
	Rate int
	// Partitions of movie-views; Movies is the number of distinct keys.
	Partitions, Movies int
	// Out is the file the table is written to (by main).
	Out string
	// ProfileDir, when set, receives a CPU profile of Reelay during its
	// ingest and each of its drains, ProfileTime long.
	ProfileDir  string
	ProfileTime time.Duration
	// KafkaDir and PostgresDir are where the servers of the kafka and
	// postgres cells run; both are stopped and removed at the end.
	KafkaDir, PostgresDir string
	// Timeout bounds each wait for a drain or a catch-up.
	Timeout time.Duration
	// WarmUp is how long Apache Kafka is loaded, unmeasured, after it
	// starts: a JVM runs its hot paths interpreted until the JIT has
	// compiled them, so without it whoever goes first pays the broker's
	// warm-up (up to 3× its CPU per event, measured). 0 skips it.
	WarmUp time.Duration
	// Rounds runs each workload this many times per contender, alternating
	// which contender goes first; the table shows each contender's median
	// round and the range of the per-round ratios (runs vary by up to 2×
	// on a shared machine).
	Rounds int
	// Keep leaves the work directory (binaries, logs, SQLite files) in place.
	Keep bool
	// Command is how the run was started, printed with the table.
	Command string
}

// Workload names, as -workloads takes them.
const (
	workIngest  = "ingest"
	workDrain   = "drain"
	workKeepsUp = "keepsup"
)

// Broker and database names, as -matrix takes them.
const (
	brokerEmbedded = "embedded"
	brokerKafka    = "kafka"
	dbSQLite       = "sqlite"
	dbPostgres     = "postgres"
)

// cell is one broker and database pair of the matrix.
type cell struct{ broker, db string }

func (c cell) String() string { return c.broker + "+" + c.db }

func parseMatrix(s string) ([]cell, error) {
	if strings.TrimSpace(s) == "all" {
		return []cell{{brokerEmbedded, dbSQLite}, {brokerEmbedded, dbPostgres}, {brokerKafka, dbSQLite}, {brokerKafka, dbPostgres}}, nil
	}
	var out []cell
	for _, part := range strings.Split(s, ",") {
		b, d, ok := strings.Cut(strings.TrimSpace(part), "+")
		if !ok || (b != brokerEmbedded && b != brokerKafka) || (d != dbSQLite && d != dbPostgres) {
			return nil, fmt.Errorf("-matrix: %q is not BROKER+DATABASE with embedded|kafka and sqlite|postgres", part)
		}
		if c := (cell{b, d}); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

func parseWorkloads(s string) ([]string, error) {
	var out []string
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		if w != workIngest && w != workDrain && w != workKeepsUp {
			return nil, fmt.Errorf("-workloads: %q is not ingest, drain or keepsup", w)
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	// The keeps-up rate may come from the ingest: run in this order.
	slices.SortFunc(out, func(a, b string) int {
		order := []string{workIngest, workDrain, workKeepsUp}
		return slices.Index(order, a) - slices.Index(order, b)
	})
	return out, nil
}

func (c Config) validate() error {
	switch {
	case c.Duration < 500*time.Millisecond:
		return fmt.Errorf("-duration %s: want at least 500ms", c.Duration)
	case c.Connections < 1, c.Events < 1, c.Partitions < 1, c.Movies < 1, c.Rate < 0:
		return errors.New("-connections, -events, -partitions and -movies must be positive, -rate not negative")
	case c.Rounds < 1:
		return fmt.Errorf("-rounds %d: want at least 1", c.Rounds)
	case c.ProfileDir != "" && c.ProfileTime < time.Second:
		return fmt.Errorf("-profile-time %s: want at least 1s", c.ProfileTime)
	}
	return nil
}

// harness holds what a run shares: the binaries, the servers it started,
// its work directory.
type harness struct {
	cfg      Config
	progress io.Writer
	root     string // the module's root directory
	work     string
	reelay   string // binary paths
	baseline string
	seq      int // numbers the log files of child processes
	kafka    []string
	pgURL    string
	cleanups []func()
	mu       sync.Mutex
	profiles []Profile       // guarded by mu
	profiled map[string]bool // profile titles asked for, guarded by mu
}

// run runs every row of the matrix and returns the table. A row that fails
// is kept with its error and the run goes on; infrastructure failures (build,
// broker, database) end it. The error joins every failure.
func run(ctx context.Context, cfg Config, progress io.Writer) (*Results, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cells, err := parseMatrix(cfg.Matrix)
	if err != nil {
		return nil, err
	}
	workloads, err := parseWorkloads(cfg.Workloads)
	if err != nil {
		return nil, err
	}
	h := &harness{cfg: cfg, progress: progress}
	defer h.close()
	if err := h.setup(ctx); err != nil {
		return nil, err
	}
	res := newResults(cfg, h.root)
	defer func() {
		h.mu.Lock()
		res.Profiles = h.profiles
		h.mu.Unlock()
	}()
	var failures []error
	for _, c := range cells {
		b, err := h.broker(ctx, c.broker)
		if err != nil {
			return res, errors.Join(append(failures, fmt.Errorf("%s: %w", c, err))...)
		}
		if c.db == dbPostgres {
			if err := h.startPostgres(ctx); err != nil {
				b.close()
				return res, errors.Join(append(failures, fmt.Errorf("%s: %w", c, err))...)
			}
		}
		ingestRate := 0.0
		for _, w := range workloads {
			var rows []Row
			switch w {
			case workIngest:
				rows = h.pair(ctx, c, func(who string) Row { return h.ingest(ctx, c, b, who) })
				if rows[0].Err == "" {
					ingestRate = rows[0].Rate
				}
			case workDrain:
				for _, groups := range [][]string{{groupMovie}, {groupMovie, groupAnalytics}} {
					rows = append(rows, h.pair(ctx, c, func(who string) Row { return h.drain(ctx, c, b, who, groups) })...)
				}
			case workKeepsUp:
				rate := cfg.Rate
				if rate == 0 {
					rate = 500
					if ingestRate > 0 {
						rate = max(1, int(ingestRate))
					}
				}
				rows = h.pair(ctx, c, func(who string) Row { return h.keepsUp(ctx, c, b, who, rate) })
			}
			for _, r := range rows {
				if r.Err != "" {
					failures = append(failures, fmt.Errorf("%s %s %s: %s", c, r.Workload, r.Contender, r.Err))
				}
			}
			res.add(rows...)
			if ctx.Err() != nil {
				b.close()
				return res, errors.Join(append(failures, ctx.Err())...)
			}
		}
		b.close()
	}
	return res, errors.Join(failures...)
}

// Contenders.
const (
	reelay   = "reelay"
	baseline = "baseline"
)

// pair runs a workload for Reelay and for the baseline, Rounds times each
// (Reelay first in odd rounds, the baseline first in even ones), and
// returns each contender's median round, Reelay's with the ratio of the
// medians and the range of the per-round ratios.
func (h *harness) pair(ctx context.Context, c cell, fn func(contender string) Row) []Row {
	var runs [2][]Row // by contender: Reelay, baseline
	var ratios []float64
	for round := 1; round <= h.cfg.Rounds; round++ {
		order := []int{0, 1}
		if round%2 == 0 {
			order = []int{1, 0}
		}
		var rows [2]Row
		for _, i := range order {
			rows[i] = fn([]string{reelay, baseline}[i])
			rows[i].Broker, rows[i].Database = c.broker, c.db
			if ctx.Err() != nil && rows[i].Err == "" {
				rows[i] = rows[i].failed(errors.New("interrupted"))
			}
			h.logf("%s %-28s %-8s %s", c, rows[i].Workload, rows[i].Contender, rows[i].summary())
			runs[i] = append(runs[i], rows[i])
		}
		if rows[0].Err == "" && rows[1].Err == "" && rows[1].Rate > 0 {
			ratios = append(ratios, rows[0].Rate/rows[1].Rate)
		}
		if ctx.Err() != nil {
			break
		}
	}
	out := []Row{median(runs[0]), median(runs[1])}
	if out[0].Err == "" && out[1].Err == "" && out[1].Rate > 0 {
		out[0].Ratio = out[0].Rate / out[1].Rate
		if len(ratios) > 1 {
			out[0].RatioLow, out[0].RatioHigh = slices.Min(ratios), slices.Max(ratios)
		}
	}
	return out
}

// median is the round with the median rate among those that did not fail
// (the lower middle of an even count), with the number of rounds; the
// first failure when every round failed.
func median(rounds []Row) Row {
	var ok []Row
	for _, r := range rounds {
		if r.Err == "" {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return rounds[0]
	}
	slices.SortFunc(ok, func(a, b Row) int { return cmp.Compare(a.Rate, b.Rate) })
	m := ok[(len(ok)-1)/2]
	m.Rounds = len(ok)
	return m
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.progress, "bench %s: "+format+"\n", append([]any{time.Now().Format("15:04:05.0")}, args...)...)
}

// setup finds the module, makes the work directory and builds both binaries.
func (h *harness) setup(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return fmt.Errorf("run the harness inside the reelay module (go env GOMOD: %q, %v)", gomod, err)
	}
	h.root = filepath.Dir(gomod)
	if h.work, err = os.MkdirTemp("", "reelay-bench-"); err != nil {
		return err
	}
	if h.cfg.Keep {
		h.logf("work directory %s (kept)", h.work)
	} else {
		work := h.work
		h.cleanups = append(h.cleanups, func() { _ = os.RemoveAll(work) })
	}
	h.reelay = filepath.Join(h.work, "reelay")
	h.baseline = filepath.Join(h.work, "baseline")
	h.logf("building app/cmd/reelay and test/bench/baseline")
	build := exec.CommandContext(ctx, "go", "build", "-o", h.work+string(filepath.Separator), "./app/cmd/reelay", "./test/bench/baseline")
	build.Dir = h.root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	if h.cfg.ProfileDir != "" {
		return os.MkdirAll(h.cfg.ProfileDir, 0o755)
	}
	return nil
}

// close undoes setup and stops the servers, last started first.
func (h *harness) close() {
	for i := len(h.cleanups) - 1; i >= 0; i-- {
		h.cleanups[i]()
	}
}
