package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Row is one workload × broker × database × contender.
type Row struct {
	Workload, Broker, Database, Contender string
	// Events is how many events the rates are over: accepted (ingest,
	// keeps up) or applied after the first one was seen (drain).
	Events int64
	// Rate is events/s: accepted per second (ingest), applied per second
	// (drain), accepted per second from the first request until the read
	// models hold them all (keeps up).
	Rate float64
	// P50 and P99 are HTTP latencies (ingest, keeps up).
	P50, P99 time.Duration
	// CPUPerEvent is the contender's CPU time (user + system, all its
	// processes) over the measured window per event.
	CPUPerEvent time.Duration
	// ServersCPUPerEvent is the cell's PostgreSQL and Apache Kafka CPU time
	// over the same window per event (serversCPU; zero in the
	// embedded+sqlite cell, whose broker and database run inside the
	// harness and the contender).
	ServersCPUPerEvent servers
	// PeakRSS is the peak resident set (VmHWM) in bytes, summed over the
	// contender's processes.
	PeakRSS int64
	// Lag is from the last 202 until the read models hold every accepted
	// event (keeps up only: HasLag).
	Lag    time.Duration
	HasLag bool
	// Ratio is Reelay's Rate over the baseline's in the same cell (Reelay
	// rows); RatioLow and RatioHigh are the lowest and highest ratio of one
	// round, when there were several.
	Ratio, RatioLow, RatioHigh float64
	// Rounds is how many rounds the row is the median of.
	Rounds int
	// Err says why the row has no numbers.
	Err string
}

func (r Row) failed(err error) Row {
	r.Err = strings.ReplaceAll(err.Error(), "\n", " ")
	return r
}

// summary is the row on one line, for progress output.
func (r Row) summary() string {
	if r.Err != "" {
		return "FAILED: " + r.Err
	}
	return fmt.Sprintf("%s events/s over %s events, CPU %s/event, RSS %s", thousands(r.Rate), thousands(float64(r.Events)),
		micros(r.CPUPerEvent), megabytes(r.PeakRSS))
}

// Results are the rows of a run and how it was run.
type Results struct {
	Rows     []Row
	Profiles []Profile
	cfg      Config
	started  time.Time
	commit   string
}

func newResults(cfg Config, root string) *Results {
	r := &Results{cfg: cfg, started: time.Now()}
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		r.commit = strings.TrimSpace(string(out))
	}
	return r
}

func (r *Results) add(rows ...Row) { r.Rows = append(r.Rows, rows...) }

// Markdown is the report: how it was run, the table, a legend and the profiles.
func (r *Results) Markdown() string {
	var b strings.Builder
	c := r.cfg
	fmt.Fprintf(&b, "## Reelay throughput, %s\n\n", r.started.Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "`%s` on %d cores (%s), %s, reelay %s.  \n", c.Command, runtime.NumCPU(), cpuModel(), runtime.Version(), r.commit)
	fmt.Fprintf(&b, "Ingest: %d connections for %s. Drain: %d views preloaded. Keeps up: %s. %d partitions, %d movie ids. %d round(s) of each. Apache Kafka warmed up for %s before the first.\n\n",
		c.Connections, c.Duration, c.Events, c.Duration, c.Partitions, c.Movies, c.Rounds, c.WarmUp)
	b.WriteString("| workload | broker | database | contender | events | events/s | p50 | p99 | CPU/event | PostgreSQL + Kafka CPU/event | peak RSS | lag | Reelay ÷ baseline |\n")
	b.WriteString("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range r.Rows {
		if row.Err != "" {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | failed: %s | | | | | | | | |\n", row.Workload, row.Broker, row.Database, row.Contender,
				strings.ReplaceAll(row.Err, "|", `\|`))
			continue
		}
		cells := []string{row.Workload, row.Broker, row.Database, row.Contender, thousands(float64(row.Events)), thousands(row.Rate),
			millis(row.P50), millis(row.P99), micros(row.CPUPerEvent), "", megabytes(row.PeakRSS), "", ""}
		if s := row.ServersCPUPerEvent; s.db > 0 || s.broker > 0 {
			cells[9] = micros(s.db) + " + " + micros(s.broker)
		}
		if row.HasLag {
			cells[11] = seconds(row.Lag)
		}
		if row.Ratio > 0 {
			cells[12] = fmt.Sprintf("%.2f×", row.Ratio)
			if row.RatioHigh > 0 {
				cells[12] += fmt.Sprintf(" (%.2f–%.2f)", row.RatioLow, row.RatioHigh)
			}
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString(`
- **ingest**: vegeta, closed loop; the service runs no consumer group. events/s = 202 answers per second; p50/p99 over all
  requests; CPU/event = the service's CPU time (utime+stime, /proc/PID/stat) during the load ÷ 202 answers.
- **drain**: views preloaded onto movie-views, then the service starts with the named groups. events/s = events applied
  from the first poll that saw one applied until every group's read model (movies.views, movie_stats.views) counts them
  all; CPU/event over the same window ÷ events (one event is applied once per group).
- **keeps up**: a constant rate with both groups consuming. lag = last 202 → read models hold every accepted event;
  events/s = accepted events ÷ (first request → that moment); CPU/event over the whole run.
- **baseline**: test/bench/baseline (net/http + one Sarama SyncProducer; franz-go groups applying each poll in one
  transaction); keeps up runs its ingest and drain processes side by side, their CPU and RSS summed.
- **Reelay ÷ baseline**: Reelay's events/s over the baseline's in the same cell; below 1 is slower. With several rounds
  (-rounds), each row is the contender's median round, and the brackets give the lowest and highest ratio of one round.
- CPU and RSS are the contender's processes only: not PostgreSQL's or Apache Kafka's (SQLite runs inside the process), nor
  the harness's, which runs the load generator and the embedded broker on the same cores. PostgreSQL + Kafka
  CPU/event is their processes' CPU over the same window ÷ the same events (the harness's polls of the read models
  included); the machine's cores are shared, so a contender that costs its servers more leaves itself less.
`)
	for _, p := range r.Profiles {
		fmt.Fprintf(&b, "\n### CPU profile: Reelay, %s\n\n`%s`\n\n```\n%s\n```\n\nBy cumulative time:\n\n```\n%s\n```\n",
			p.Title, p.File, p.Top, p.TopCum)
	}
	return b.String()
}

func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func millis(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// seconds shows a lag: milliseconds below a second.
func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func micros(d time.Duration) string {
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

func megabytes(n int64) string {
	return fmt.Sprintf("%.0f MB", float64(n)/(1<<20))
}

func cpuModel() string {
	raw, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}
