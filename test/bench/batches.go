package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// batchSizes reads Reelay's reelay_batch_events histogram from base/metrics
// and says how many batches each batch route applied and how many events
// they held on average: what a drain's group commits looked like.
func batchSizes(ctx context.Context, base string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	sums, counts := map[string]float64{}, map[string]float64{}
	var handlers []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		for suffix, into := range map[string]map[string]float64{"_sum{": sums, "_count{": counts} {
			if rest, found := strings.CutPrefix(name, "reelay_batch_events"+suffix); found {
				v, err := strconv.ParseFloat(value, 64)
				if err != nil {
					continue
				}
				if _, seen := into[rest]; !seen && suffix == "_count{" {
					handlers = append(handlers, rest)
				}
				into[rest] = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err.Error()
	}
	var out []string
	for _, h := range handlers {
		if n := counts[h]; n > 0 {
			out = append(out, fmt.Sprintf("{%s %.0f batches of %.1f events", h, n, sums[h]/n))
		}
	}
	if len(out) == 0 {
		return "no batches"
	}
	return strings.Join(out, "; ")
}
