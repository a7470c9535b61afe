package cli

import (
	"strconv"

	"github.com/spf13/cobra"
)

func lagCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "lag",
		Short: "Show each consumer group's lag per topic partition",
		Long: `One line per consumer group, topic and partition: the committed offset ("-"
when the group has committed none there), the partition's end offset, the lag between them, when the committed offset last
moved, and STUCK for a partition whose record can be neither applied nor
dead-lettered.

Exit status 3 when a partition is stuck (with --json too).`,
		Example: `  reelay lag
  reelay lag --json | jq '.groups[] | select(.stuck)'`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string) error {
			cl, err := e.client()
			if err != nil {
				return err
			}
			var a lagAnswer
			body, err := cl.get(cmd.Context(), "/lag", nil, &a)
			if err != nil {
				return err
			}
			stuck := false
			for _, g := range a.Groups {
				stuck = stuck || g.Stuck
				for _, p := range g.Partitions {
					stuck = stuck || p.Stuck
				}
			}
			if e.json {
				err = writeJSON(cmd.OutOrStdout(), body)
			} else {
				err = writeLag(cmd, e, a)
			}
			if err != nil {
				return err
			}
			if stuck {
				return attention()
			}
			return nil
		}),
	}
}

func writeLag(cmd *cobra.Command, e *env, a lagAnswer) error {
	now := e.deps.Now()
	t := newTable(cmd.OutOrStdout(), "GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "LAST PROGRESS", "STUCK")
	for _, g := range a.Groups {
		for _, p := range g.Partitions {
			mark := ""
			if p.Stuck {
				mark = "STUCK"
			}
			committed := "-" // the group has committed nothing there
			if p.Committed >= 0 {
				committed = itoa(p.Committed)
			}
			t.row(g.Group, p.Topic, strconv.Itoa(int(p.Partition)), committed, itoa(p.End), itoa(p.Lag),
				ago(now, p.LastProgress.Time), mark)
		}
	}
	return t.flush()
}
