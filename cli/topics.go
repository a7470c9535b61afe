package cli

import (
	"strconv"

	"github.com/spf13/cobra"
)

func topicsCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "topics",
		Short: "List the topics Reelay knows: events, dead letters, replay",
		Example: `  reelay topics
  reelay topics --json`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, _ []string) error {
			cl, err := e.client()
			if err != nil {
				return err
			}
			var a topicsAnswer
			body, err := cl.get(cmd.Context(), "/topics", nil, &a)
			if err != nil {
				return err
			}
			if e.json {
				return writeJSON(cmd.OutOrStdout(), body)
			}
			t := newTable(cmd.OutOrStdout(), "TOPIC", "KIND", "PARTITIONS", "REPLICATION")
			for _, tp := range a.Topics {
				t.row(tp.Name, tp.Kind, strconv.Itoa(int(tp.Partitions)), strconv.Itoa(int(tp.ReplicationFactor)))
			}
			return t.flush()
		}),
	}
}
