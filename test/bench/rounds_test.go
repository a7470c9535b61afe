package main

import (
	"context"
	"io"
	"testing"
)

// TestPairTakesTheMedianRound: with three rounds each contender's row is
// its median round, the ratio is of the medians, the range is of the
// rounds' ratios, and the contenders alternate going first.
func TestPairTakesTheMedianRound(t *testing.T) {
	h := &harness{cfg: Config{Rounds: 3}, progress: io.Discard}
	rates := map[string][]float64{reelay: {10, 30, 20}, baseline: {40, 50, 60}}
	var calls []string
	rows := h.pair(context.Background(), cell{brokerKafka, dbPostgres}, func(who string) Row {
		r := Row{Workload: "drain", Contender: who, Rate: rates[who][0]}
		rates[who] = rates[who][1:]
		calls = append(calls, who)
		return r
	})
	if got := len(calls); got != 6 || calls[0] != reelay || calls[2] != baseline || calls[4] != reelay {
		t.Fatalf("calls %v: want 3 rounds, Reelay first in the odd ones", calls)
	}
	re, ba := rows[0], rows[1]
	if re.Rate != 20 || ba.Rate != 50 || re.Rounds != 3 || ba.Rounds != 3 {
		t.Fatalf("medians %v (%d rounds) and %v (%d): want 20 and 50 of 3", re.Rate, re.Rounds, ba.Rate, ba.Rounds)
	}
	// Rounds' ratios: 10/40, 30/50, 20/60.
	if re.Ratio != 0.4 || re.RatioLow != 0.25 || re.RatioHigh != 0.6 || ba.Ratio != 0 {
		t.Fatalf("ratio %v (%v–%v), baseline's %v: want 0.4 (0.25–0.6) and none", re.Ratio, re.RatioLow, re.RatioHigh, ba.Ratio)
	}
	if re.Broker != brokerKafka || ba.Database != dbPostgres {
		t.Fatalf("cell not set: %+v %+v", re, ba)
	}
}
