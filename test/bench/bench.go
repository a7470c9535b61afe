package main

import (
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
	// Rate is the keeps-up load in requests per second; 0 picks half of
	// Reelay's ingest events/s in the same cell.
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
	profiles []Profile // guarded by mu
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
						rate = max(1, int(ingestRate/2))
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

// pair runs a workload for Reelay, then for the baseline, and sets Reelay's ratio.
func (h *harness) pair(ctx context.Context, c cell, fn func(contender string) Row) []Row {
	rows := []Row{fn(reelay), fn(baseline)}
	for i := range rows {
		rows[i].Broker, rows[i].Database = c.broker, c.db
		if ctx.Err() != nil && rows[i].Err == "" {
			rows[i] = rows[i].failed(errors.New("interrupted"))
		}
		h.logf("%s %-28s %-8s %s", c, rows[i].Workload, rows[i].Contender, rows[i].summary())
	}
	if rows[0].Err == "" && rows[1].Err == "" && rows[1].Rate > 0 {
		rows[0].Ratio = rows[0].Rate / rows[1].Rate
	}
	return rows
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
