package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a contender's child process.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // its stdout and stderr
	done chan struct{}
	err  error // set before done closes
}

// start runs bin with args and env added to this process's environment
// minus every REELAY_* variable, so that only the harness configures it.
func (h *harness) start(name, bin string, args, env []string) (*proc, error) {
	logPath := filepath.Join(h.work, h.tempName(name)+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REELAY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logf.Close()
		close(p.done)
	}()
	return p, nil
}

// exited returns an error saying how the process ended, or nil while it runs.
func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v): %s", p.name, p.err, p.tail())
	default:
		return nil
	}
}

// stop sends SIGTERM and waits up to 30 s for the process to exit, then kills it.
func (p *proc) stop() {
	if p.exited() != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail is the end of the process's log, for error messages.
func (p *proc) tail() string {
	raw, _ := os.ReadFile(p.log)
	raw = bytes.TrimSpace(raw)
	if len(raw) > 1500 {
		raw = raw[len(raw)-1500:]
	}
	return string(raw)
}

// userHz is the unit of the times in /proc/PID/stat (USER_HZ, 100 on Linux).
const userHz = 100

// cpu is the CPU time (user + system) the process has used so far.
func (p *proc) cpu() time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name in parentheses, which may hold
	// spaces: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	user, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(user+sys) * time.Second / userHz
}

// serversCPU is the CPU time (user + system, with that of exited
// children) of the servers of cell c: every PostgreSQL process on the
// machine in a postgres cell, every Apache Kafka (java) process in a kafka
// cell. It is what a contender's events cost besides its own processes;
// zero in the embedded+sqlite cell.
func serversCPU(c cell) servers {
	var out servers
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, file := range stats {
		raw, err := os.ReadFile(file)
		if err != nil {
			continue // exited meanwhile
		}
		open, close := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
		if open < 0 || close < open {
			continue
		}
		var sum *time.Duration
		switch string(raw[open+1 : close]) {
		case "postgres":
			if c.db == dbPostgres {
				sum = &out.db
			}
		case "java":
			if c.broker == brokerKafka {
				sum = &out.broker
			}
		}
		f := strings.Fields(string(raw[close+1:]))
		if sum == nil || len(f) < 15 {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
			n, _ := strconv.ParseInt(f[i], 10, 64)
			*sum += time.Duration(n) * time.Second / userHz
		}
	}
	return out
}

// servers is CPU time of a cell's database and broker.
type servers struct{ db, broker time.Duration }

func (s servers) sub(o servers) servers { return servers{s.db - o.db, s.broker - o.broker} }

// per divides both by n events.
func (s servers) per(n int64) servers {
	return servers{s.db / time.Duration(n), s.broker / time.Duration(n)}
}

// peakRSS is the process's peak resident set size (VmHWM) in bytes.
func (p *proc) peakRSS() int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// procs are the processes of one contender, measured together.
type procs []*proc

func (ps procs) cpu() time.Duration {
	var sum time.Duration
	for _, p := range ps {
		sum += p.cpu()
	}
	return sum
}

func (ps procs) peakRSS() int64 {
	var sum int64
	for _, p := range ps {
		sum += p.peakRSS()
	}
	return sum
}

func (ps procs) exited() error {
	for _, p := range ps {
		if err := p.exited(); err != nil {
			return err
		}
	}
	return nil
}

func (ps procs) stop() {
	for _, p := range ps {
		p.stop()
	}
}

// freeAddr is a loopback address with a port free at the time of the call.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// waitReady polls base/readyz until it answers 200.
func waitReady(ctx context.Context, p *proc, base string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return retry(ctx, 90*time.Second, func() error {
		if err := p.exited(); err != nil {
			return final{err}
		}
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s/readyz: %d", base, resp.StatusCode)
		}
		return nil
	})
}
