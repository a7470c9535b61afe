package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Profile is a CPU profile of Reelay recorded during a drain.
type Profile struct {
	Title string // cell and workload
	File  string
	Top   string // the top of `go tool pprof -top`
	// TopCum is the node lines of `go tool pprof -top -cum`: where the
	// time goes, callees included.
	TopCum string
}

// nodes keeps the table of a pprof -top output, from its column header on.
func nodes(top []byte) string {
	s := string(top)
	if i := strings.Index(s, "      flat"); i >= 0 {
		s = s[i:]
	}
	return strings.TrimSpace(s)
}

// saveProfile GETs a profile from url, within timeout, into file.
func saveProfile(ctx context.Context, url string, timeout time.Duration, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, raw)
	}
	return os.WriteFile(file, raw, 0o644)
}

// recordProfile asks Reelay's pprof listener (REELAY_PPROF_ADDR) for a CPU
// profile of -profile-time, writes it and a heap profile to -profile and keeps the top of
// `go tool pprof -top` for the report. The channel yields when done.
//
// With several rounds only the first is profiled: it returns nil for the
// others.
func (h *harness) recordProfile(ctx context.Context, addr string, c cell, workload string) <-chan error {
	h.mu.Lock()
	title := fmt.Sprintf("%s, %s", c, workload)
	if h.profiled == nil {
		h.profiled = map[string]bool{}
	}
	again := h.profiled[title]
	h.profiled[title] = true
	h.mu.Unlock()
	if again {
		return nil
	}
	done := make(chan error, 1)
	name := strings.NewReplacer(" ", "-", "+", "-", ",", "").Replace(fmt.Sprintf("reelay-%s-%s.pprof", c, workload))
	file := filepath.Join(h.cfg.ProfileDir, name)
	go func() {
		done <- func() error {
			secs := int(h.cfg.ProfileTime / time.Second)
			url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs)
			if err := saveProfile(ctx, url, h.cfg.ProfileTime+30*time.Second, file); err != nil {
				return err
			}
			// The heap at the end of the CPU profile: still inside the drain.
			heap := strings.TrimSuffix(file, ".pprof") + "-heap.pprof"
			if err := saveProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/heap", addr), 30*time.Second, heap); err != nil {
				return err
			}
			flat, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=10", h.reelay, file).CombinedOutput()
			if err != nil {
				return fmt.Errorf("go tool pprof: %v: %s", err, flat)
			}
			cum, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=15", h.reelay, file).CombinedOutput()
			if err != nil {
				return fmt.Errorf("go tool pprof: %v: %s", err, cum)
			}
			h.mu.Lock()
			h.profiles = append(h.profiles, Profile{Title: title, File: file,
				Top: strings.TrimSpace(string(flat)), TopCum: nodes(cum)})
			h.mu.Unlock()
			return nil
		}()
	}()
	return done
}
