package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reelay/reelay/ops"
)

func dlqCommand(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "dlq",
		Short: "List, show, replay and discard dead letters",
		Long: `Dead letters are the records a consumer group could not apply, kept in the
group's <group>.dlq topic. A record is named by its position there:
PARTITION:OFFSET, as in the RECORD column of "reelay dlq ls GROUP".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.AddCommand(dlqLsCommand(e), dlqShowCommand(e), dlqReplayCommand(e), dlqDiscardCommand(e))
	return c
}

func dlqLsCommand(e *env) *cobra.Command {
	var (
		status, handler, key, errSub, cursor string
		limit                                int
		allPages                             bool
	)
	c := &cobra.Command{
		Use:   "ls [GROUP]",
		Short: "List the groups' dead letters, or one group's records",
		Long: `Without GROUP: one line per consumer group with its dead letters pending,
replayed and discarded. With GROUP: that group's records, one page (--limit,
the server's page size when not given; --cursor for the next one) or
--all-pages.`,
		Example: `  reelay dlq ls
  reelay dlq ls movie-group --error "decode" --all-pages
  reelay dlq ls movie-group --status all --handler movie:movie-events --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				for _, name := range []string{"status", "handler", "key", "error", "limit", "cursor", "all-pages"} {
					if cmd.Flags().Changed(name) {
						return usageErrorf("--%s needs a GROUP", name)
					}
				}
				return listGroups(cmd, e)
			}
			switch status {
			case "pending", "replaying", "replayed", "discarded", "all":
			default:
				return usageErrorf("--status %q: want pending, replaying, replayed, discarded or all", status)
			}
			if cmd.Flags().Changed("limit") && limit < 1 {
				return usageErrorf("--limit must be at least 1, not %d", limit)
			}
			q := url.Values{"status": {status}}
			if handler != "" {
				q.Set("handler", handler)
			}
			if key != "" {
				q.Set("key", key)
			}
			if errSub != "" {
				q.Set("error", errSub)
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			return listRecords(cmd, e, args[0], q, allPages)
		}),
	}
	f := c.Flags()
	f.StringVar(&status, "status", "pending", "pending, replaying, replayed, discarded or all")
	f.StringVar(&handler, "handler", "", "only records of this handler")
	f.StringVar(&key, "key", "", "only records with this key")
	f.StringVar(&errSub, "error", "", "only records whose error contains this text")
	f.IntVar(&limit, "limit", 0, "records per page (default: the server's)")
	f.StringVar(&cursor, "cursor", "", `start at this page: "next" of a --json answer`)
	f.BoolVar(&allPages, "all-pages", false, "follow the pages to the last one")
	return c
}

func listGroups(cmd *cobra.Command, e *env) error {
	cl, err := e.client()
	if err != nil {
		return err
	}
	var a groupsAnswer
	body, err := cl.get(cmd.Context(), "/deadletters", nil, &a)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if e.json {
		return writeJSON(out, body)
	}
	now := e.deps.Now()
	t := newTable(out, "GROUP", "TOPIC", "PENDING", "TOTAL", "REPLAYED", "DISCARDED", "OLDEST", "NEWEST", "ERRORS")
	for _, g := range a.Groups {
		t.row(g.Group, g.Topic, itoa(g.Depth), itoa(g.Total), itoa(g.Replayed), itoa(g.Discarded),
			ago(now, g.Oldest.Time), ago(now, g.Newest.Time), counts(g.ByErrorClass))
	}
	return t.flush()
}

func listRecords(cmd *cobra.Command, e *env, group string, q url.Values, allPages bool) error {
	cl, err := e.client()
	if err != nil {
		return err
	}
	var (
		records []record
		raw     []json.RawMessage
		body    []byte
		next    string
		seen    = map[string]bool{q.Get("cursor"): true}
	)
	for {
		var page recordsAnswer
		body, err = cl.get(cmd.Context(), groupPath(group)+"/records", q, &page)
		if err != nil {
			return err
		}
		var rawPage struct {
			Records []json.RawMessage `json:"records"`
		}
		if err := decodeBody(body, &rawPage); err != nil {
			return err
		}
		records = append(records, page.Records...)
		raw = append(raw, rawPage.Records...)
		next = page.Next
		if !allPages || next == "" {
			break
		}
		if seen[next] {
			return fmt.Errorf("the server gave the same cursor twice (%q)", next)
		}
		seen[next] = true
		q.Set("cursor", next)
	}
	out := cmd.OutOrStdout()
	if e.json {
		if allPages {
			// The pages as one answer without a cursor.
			if body, err = json.Marshal(struct {
				Records []json.RawMessage `json:"records"`
			}{Records: append([]json.RawMessage{}, raw...)}); err != nil {
				return err
			}
		}
		return writeJSON(out, body)
	}
	if err := writeRecords(out, e.deps.Now(), records); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "more records: --all-pages lists them all\n")
	}
	return nil
}

// writeRecords is the table of dead letters; RECORD is PARTITION:OFFSET in
// the dead-letter topic, the form --record takes.
func writeRecords(w io.Writer, now time.Time, records []record) error {
	t := newTable(w, "RECORD", "STATUS", "HANDLER", "CLASS", "ATTEMPTS", "DEAD-LETTERED", "TYPE", "KEY", "ERROR")
	for _, r := range records {
		t.row(fmt.Sprintf("%d:%d", r.Partition, r.Offset), r.Status, r.Handler, r.ErrorClass,
			strconv.Itoa(r.Attempts), ago(now, r.DeadLetteredAt.Time), r.EventType, clip(r.Key, 24), clip(r.Error, 60))
	}
	return t.flush()
}

func dlqShowCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show GROUP PARTITION OFFSET",
		Short: "Show one dead letter in full: metadata, headers, payload",
		Long: `Show one dead letter, named by its partition and offset in the dead-letter
topic, as two arguments or as PARTITION:OFFSET (the RECORD column of
"reelay dlq ls GROUP"). A JSON payload is printed indented; one that is not
UTF-8 is printed in base64. Control characters of the record are printed
escaped.`,
		Example: `  reelay dlq show movie-group 0 12
  reelay dlq show movie-group 0:12`,
		Args: cobra.RangeArgs(2, 3),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			pos := args[1:]
			if len(pos) == 1 {
				p, o, ok := strings.Cut(pos[0], ":")
				if !ok {
					return usageErrorf("%q: want PARTITION OFFSET or PARTITION:OFFSET", pos[0])
				}
				pos = []string{p, o}
			}
			p, err := strconv.ParseInt(pos[0], 10, 32)
			if err != nil || p < 0 {
				return usageErrorf("PARTITION %q: want a number from 0", pos[0])
			}
			o, err := strconv.ParseInt(pos[1], 10, 64)
			if err != nil || o < 0 {
				return usageErrorf("OFFSET %q: want a number from 0", pos[1])
			}
			cl, err := e.client()
			if err != nil {
				return err
			}
			var r record
			body, err := cl.get(cmd.Context(), fmt.Sprintf("%s/records/%d/%d", groupPath(args[0]), p, o), nil, &r)
			if err != nil {
				return err
			}
			if e.json {
				return writeJSON(cmd.OutOrStdout(), body)
			}
			return writeRecord(cmd.OutOrStdout(), r)
		}),
	}
}

// writeRecord prints one record for reading: metadata lines, headers in
// name order, then the payload.
func writeRecord(w io.Writer, r record) error {
	t := newTable(w, "record", fmt.Sprintf("%s %d:%d", r.Group, r.Partition, r.Offset))
	t.row("status", r.Status)
	t.row("original", fmt.Sprintf("%s partition %d offset %d at %s",
		r.Original.Topic, r.Original.Partition, r.Original.Offset, timestamp(r.Original.Timestamp.Time)))
	t.row("key", r.Key)
	t.row("handler", r.Handler)
	t.row("error class", r.ErrorClass)
	t.row("error", r.Error)
	t.row("attempts", strconv.Itoa(r.Attempts))
	t.row("first failure", timestamp(r.FirstFailure.Time))
	t.row("last failure", timestamp(r.LastFailure.Time))
	t.row("dead-lettered", timestamp(r.DeadLetteredAt.Time))
	t.row("event id", r.EventID)
	t.row("event type", r.EventType)
	t.row("event source", r.EventSource)
	t.row("correlation id", r.CorrelationID)
	t.row("replays", strconv.Itoa(r.ReplayCount))
	if r.ReplayID != "" {
		t.row("replay id", r.ReplayID)
	}
	if r.FromReplay != "" {
		t.row("from replay", r.FromReplay)
	}
	if r.Discard != nil {
		t.row("discarded", fmt.Sprintf("%s by %s: %s", timestamp(r.Discard.At.Time), r.Discard.By, r.Discard.Reason))
	}
	if r.Truncated {
		t.row("truncated", "yes: the payload is a truncated copy of the original")
	}
	if err := t.flush(); err != nil {
		return err
	}

	names := make([]string, 0, len(r.Headers))
	for name := range r.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "\nheaders")
	for _, name := range names {
		fmt.Fprintf(w, "  %s: %s\n", escape(name, false), escape(r.Headers[name], false))
	}

	switch {
	case r.Payload != nil:
		fmt.Fprintf(w, "\npayload (%d bytes)\n", r.PayloadSize)
		text := *r.Payload
		if b, err := indentJSON([]byte(text)); err == nil {
			text = string(b)
		}
		fmt.Fprintln(w, escape(strings.TrimRight(text, "\n"), true))
	case r.PayloadBase64 != nil:
		fmt.Fprintf(w, "\npayload (%d bytes, not UTF-8, in base64)\n%s\n", r.PayloadSize, *r.PayloadBase64)
	default:
		fmt.Fprintf(w, "\npayload (%d bytes, first bytes)\n%s\n", r.PayloadSize, escape(r.PayloadPreview, true))
	}
	return nil
}

// filterFlags are the flags that select dead letters for replay and
// discard.
type filterFlags struct {
	all        bool
	handler    string
	key        string
	errSub     string
	partition  int32
	fromOffset int64
	toOffset   int64
	records    []string
}

func (ff *filterFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&ff.all, "all", false, "every record of the group (instead of the filters)")
	f.StringVar(&ff.handler, "handler", "", "records of this handler")
	f.StringVar(&ff.key, "key", "", "records with this key")
	f.StringVar(&ff.errSub, "error", "", "records whose error contains this text")
	f.Int32Var(&ff.partition, "partition", 0, "records of this dead-letter topic partition")
	f.Int64Var(&ff.fromOffset, "from-offset", 0, "records at this dead-letter topic offset or after")
	f.Int64Var(&ff.toOffset, "to-offset", 0, "records at this dead-letter topic offset or before")
	f.StringArrayVar(&ff.records, "record", nil, "the record at PARTITION:OFFSET (repeatable)")
}

// filter checks the flags and builds the API's filter: at least one
// filter, or --all alone.
func (ff *filterFlags) filter(f *pflag.FlagSet) (ops.Filter, error) {
	var flt ops.Filter
	flt.Handler = ff.handler
	flt.Key = ff.key
	flt.Error = ff.errSub
	if f.Changed("partition") {
		if ff.partition < 0 {
			return flt, usageErrorf("--partition must be 0 or more, not %d", ff.partition)
		}
		flt.Partition = &ff.partition
	}
	for _, o := range []struct {
		name string
		v    *int64
		dst  **int64
	}{{"from-offset", &ff.fromOffset, &flt.FromOffset}, {"to-offset", &ff.toOffset, &flt.ToOffset}} {
		if f.Changed(o.name) {
			if *o.v < 0 {
				return flt, usageErrorf("--%s must be 0 or more, not %d", o.name, *o.v)
			}
			*o.dst = o.v
		}
	}
	if flt.FromOffset != nil && flt.ToOffset != nil && *flt.FromOffset > *flt.ToOffset {
		return flt, usageErrorf("--from-offset %d is after --to-offset %d", *flt.FromOffset, *flt.ToOffset)
	}
	for _, s := range ff.records {
		p, o, ok := strings.Cut(s, ":")
		pn, perr := strconv.ParseInt(p, 10, 32)
		on, oerr := strconv.ParseInt(o, 10, 64)
		if !ok || perr != nil || oerr != nil || pn < 0 || on < 0 {
			return flt, usageErrorf("--record %q: want PARTITION:OFFSET, e.g. 0:12", s)
		}
		flt.Records = append(flt.Records, ops.RecordRef{Partition: int32(pn), Offset: on})
	}
	some := flt.Handler != "" || flt.Key != "" || flt.Error != "" || flt.Partition != nil ||
		flt.FromOffset != nil || flt.ToOffset != nil || len(flt.Records) > 0
	switch {
	case ff.all && some:
		return flt, usageErrorf("--all selects every record: leave out the other filters")
	case ff.all:
		flt.All = true
	case !some:
		return flt, usageErrorf("say which records: --handler, --key, --error, --partition, --from-offset, --to-offset, --record, or --all")
	}
	return flt, nil
}

func dlqReplayCommand(e *env) *cobra.Command {
	var (
		ff             filterFlags
		dryRun, noWait bool
	)
	c := &cobra.Command{
		Use:   "replay GROUP",
		Short: "Publish dead letters to their original topic again",
		Long: `Replay the group's dead letters that match the filters (all of them must
match; --all for every record). --dry-run shows what would be replayed (the
first 100) and changes nothing.

Without --dry-run the replay starts on the server and reelay follows it,
printing its progress on stderr, until it is done (--no-wait returns at
once; Ctrl-C stops following, not the replay). With --json the replay's final
state is printed as {"replay":{...}}.

Exit status 3 when the replay ended with records dead-lettered again
(failedAgain) or skipped.`,
		Example: `  reelay dlq replay movie-group --error "connection refused" --dry-run
  reelay dlq replay movie-group --record 0:12 --record 0:13
  reelay dlq replay movie-group --partition 2 --from-offset 100 --to-offset 199 --no-wait`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			flt, err := ff.filter(cmd.Flags())
			if err != nil {
				return err
			}
			if dryRun && noWait {
				return usageErrorf("--no-wait has nothing to wait for with --dry-run")
			}
			cl, err := e.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			path := groupPath(args[0]) + "/replay"
			if dryRun {
				var a dryRunAnswer
				body, err := cl.post(cmd.Context(), path, replayRequest{Filter: flt, DryRun: true}, &a)
				if err != nil {
					return err
				}
				if e.json {
					return writeJSON(out, body)
				}
				if err := writeRecords(out, e.deps.Now(), a.Records); err != nil {
					return err
				}
				shown := ""
				if int64(len(a.Records)) < a.Matched {
					shown = fmt.Sprintf(" (the first %d shown)", len(a.Records))
				}
				verb := "match"
				if a.Matched == 1 {
					verb = "matches"
				}
				skipped := ""
				if a.Skipped > 0 {
					skipped = fmt.Sprintf(", %d of them would be skipped", a.Skipped)
				}
				fmt.Fprintf(out, "%s %s%s%s; dry run, nothing replayed\n", recordCount(a.Matched), verb, shown, skipped)
				return nil
			}

			var a replayAnswer
			body, err := cl.post(cmd.Context(), path, replayRequest{Filter: flt}, &a)
			if err != nil {
				return err
			}
			if noWait {
				if e.json {
					return writeJSON(out, body)
				}
				fmt.Fprintf(out, "replay %s started: %s\n", a.Replay.ID, recordCount(a.Replay.Total))
				return nil
			}
			var raw struct {
				Replay json.RawMessage `json:"replay"`
			}
			if err := decodeBody(body, &raw); err != nil {
				return err
			}
			r, last, err := e.follow(cmd.Context(), cl, cmd.ErrOrStderr(), a.Replay, raw.Replay)
			if err != nil {
				return err
			}
			if e.json {
				b, err := json.Marshal(struct {
					Replay json.RawMessage `json:"replay"`
				}{last})
				if err != nil {
					return err
				}
				if err := writeJSON(out, b); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "replay %s done: %s, %d published, %d skipped, %d dead-lettered again\n",
					r.ID, recordCount(r.Total), r.Published, r.Skipped, r.FailedAgain)
			}
			if r.FailedAgain > 0 || r.Skipped > 0 {
				return attention()
			}
			return nil
		}),
	}
	ff.register(c.Flags())
	c.Flags().BoolVar(&dryRun, "dry-run", false, "show the records that would be replayed; replay nothing")
	c.Flags().BoolVar(&noWait, "no-wait", false, "start the replay and return")
	return c
}

// follow asks for the replay's state every PollInterval until it is no
// longer running, and writes a progress line to w at each change (one line
// rewritten on a terminal). It returns the last state and its JSON.
func (e *env) follow(ctx context.Context, cl *client, w io.Writer, r replay, raw json.RawMessage) (replay, json.RawMessage, error) {
	tty := e.deps.IsTerminal(w)
	var shown string
	show := func(r replay) {
		line := fmt.Sprintf("replay %s %s: %d/%d published, %d skipped, %d dead-lettered again",
			r.ID, r.Status, r.Published, r.Total, r.Skipped, r.FailedAgain)
		if line == shown {
			return
		}
		if tty {
			fmt.Fprintf(w, "\r%-*s", len(shown), line)
		} else {
			fmt.Fprintln(w, line)
		}
		shown = line
	}
	defer func() {
		if tty && shown != "" {
			fmt.Fprintln(w)
		}
	}()

	path := "/replays/" + url.PathEscape(r.ID)
	ticker := time.NewTicker(e.deps.PollInterval)
	defer ticker.Stop()
	for {
		show(r)
		if r.Status != "running" {
			break
		}
		select {
		case <-ctx.Done():
			return r, raw, fmt.Errorf("stopped following replay %s (it goes on): %w", r.ID, ctx.Err())
		case <-ticker.C:
		}
		var next replay
		body, err := cl.get(ctx, path, nil, &next)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
				return r, raw, fmt.Errorf("replay %s: %w", r.ID, err)
			}
			return r, raw, fmt.Errorf("following replay %s (it goes on): %w", r.ID, err)
		}
		r, raw = next, body
	}
	if r.Status != "done" {
		return r, raw, fmt.Errorf("replay %s ended %q", r.ID, r.Status)
	}
	return r, raw, nil
}

func dlqDiscardCommand(e *env) *cobra.Command {
	var (
		ff         filterFlags
		reason, by string
	)
	c := &cobra.Command{
		Use:   "discard GROUP --reason R",
		Short: "Mark dead letters as discarded: they are not replayed",
		Long: `Discard the group's dead letters that match the filters (all of them must
match; --all for every record), recording who did it and why. Preview the
selection first with the same filters and "reelay dlq replay GROUP ... --dry-run".`,
		Example: `  reelay dlq discard movie-group --handler movie:movie-events --error "year" --reason "bad imports of 27 Nov"
  reelay dlq discard movie-group --record 0:12 --reason duplicate --by alice`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			flt, err := ff.filter(cmd.Flags())
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return usageErrorf("--reason must say why")
			}
			if by == "" {
				return usageErrorf("--by is needed when $USER is not set")
			}
			cl, err := e.client()
			if err != nil {
				return err
			}
			var a discardAnswer
			body, err := cl.post(cmd.Context(), groupPath(args[0])+"/discard",
				discardRequest{Filter: flt, Reason: reason, By: by}, &a)
			if err != nil {
				return err
			}
			if e.json {
				return writeJSON(cmd.OutOrStdout(), body)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "discarded %s of %s\n", recordCount(a.Discarded), args[0])
			return nil
		}),
	}
	ff.register(c.Flags())
	c.Flags().StringVar(&reason, "reason", "", "why the records are discarded (required)")
	c.Flags().StringVar(&by, "by", e.deps.Getenv("USER"), "who discards them")
	return c
}
