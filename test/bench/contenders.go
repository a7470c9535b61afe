package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// service is a running contender: its processes, measured together, and
// the base URL of its view route when it serves one.
type service struct {
	procs procs
	base  string
	pprof string // Reelay's pprof address, when profiling
}

// startReelay runs the reelay binary on the cell's broker and dbURL with
// the consumer groups named (none when empty). With ready it waits for
// /readyz; with pprof it serves profiles on a loopback port.
func (h *harness) startReelay(ctx context.Context, b *broker, dbURL string, groups []string, ready, pprof bool) (*service, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	groupList := "none"
	if len(groups) > 0 {
		groupList = strings.Join(groups, ",")
	}
	env := []string{
		"REELAY_HTTP_ADDR=" + addr,
		"REELAY_KAFKA_BROKERS=" + strings.Join(b.addrs, ","),
		"REELAY_DATABASE_URL=" + dbURL,
		"REELAY_DATA_DIR=" + filepath.Join(h.work, h.tempName("reelay-data")),
		"REELAY_CONSUMER_GROUPS=" + groupList,
		"REELAY_TOPIC_PARTITIONS=" + strconv.Itoa(h.cfg.Partitions),
		"REELAY_LOG_LEVEL=warn",
	}
	svc := &service{base: "http://" + addr}
	if pprof {
		if svc.pprof, err = freeAddr(); err != nil {
			return nil, err
		}
		env = append(env, "REELAY_PPROF_ADDR="+svc.pprof)
	}
	p, err := h.start(reelay, h.reelay, nil, env)
	if err != nil {
		return nil, err
	}
	svc.procs = procs{p}
	if ready {
		if err := waitReady(ctx, p, svc.base); err != nil {
			p.stop()
			return nil, err
		}
	}
	return svc, nil
}

// startBaseline runs the baseline's ingest process (with ingest) and its
// drain process (when groups are named), and waits until they are ready
// when ready is set.
func (h *harness) startBaseline(ctx context.Context, b *broker, dbURL string, ingest bool, groups []string, ready bool) (*service, error) {
	svc := &service{}
	brokers := strings.Join(b.addrs, ",")
	type part struct {
		p    *proc
		base string
	}
	var parts []part
	launch := func(args ...string) error {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		p, err := h.start(baseline+"-"+args[0], h.baseline, append(args, "-addr", addr, "-brokers", brokers), nil)
		if err != nil {
			return err
		}
		svc.procs = append(svc.procs, p)
		parts = append(parts, part{p, "http://" + addr})
		return nil
	}
	if ingest {
		if err := launch("ingest"); err != nil {
			return nil, err
		}
		svc.base = parts[0].base
	}
	if len(groups) > 0 {
		if err := launch("drain", "-database", dbURL, "-groups", strings.Join(groups, ",")); err != nil {
			svc.procs.stop()
			return nil, err
		}
	}
	if ready {
		for _, pt := range parts {
			if err := waitReady(ctx, pt.p, pt.base); err != nil {
				svc.procs.stop()
				return nil, fmt.Errorf("baseline: %w", err)
			}
		}
	}
	return svc, nil
}

// startContender starts who for a workload: ingest serves HTTP, groups consume.
func (h *harness) startContender(ctx context.Context, who string, b *broker, dbURL string, ingest bool, groups []string, ready, pprof bool) (*service, error) {
	if who == reelay {
		return h.startReelay(ctx, b, dbURL, groups, ready, pprof)
	}
	return h.startBaseline(ctx, b, dbURL, ingest, groups, ready)
}
