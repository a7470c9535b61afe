package cli_test

import "testing"

func TestLag(t *testing.T) {
	t.Parallel()
	runCases(t, []cliCase{
		{
			name:      "per group, topic and partition",
			args:      []string{"lag"},
			wantCalls: []string{"GET /admin/v1/lag"},
			wantOut: lines(
				"GROUP            TOPIC         PARTITION  COMMITTED  END  LAG  LAST PROGRESS  STUCK",
				"movie-group      movie-events  0          10         10   0    3s ago         -",
				"movie-group      movie-views   3          40         52   12   2m ago         -",
				"analytics-group  user-actions  0          -          0    0    -              -",
			),
		},
		{
			name:      "a stuck partition: marked, exit status 3",
			args:      []string{"lag"},
			overrides: map[string]answer{"GET /admin/v1/lag": {body: lagStuckJSON}},
			wantCalls: []string{"GET /admin/v1/lag"},
			wantOut: lines(
				"GROUP        TOPIC        PARTITION  COMMITTED  END  LAG  LAST PROGRESS  STUCK",
				"movie-group  movie-views  3          40         52   12   20m ago        STUCK",
			),
			wantCode: 3,
		},
		{
			name:      "a stuck partition as JSON: exit status 3 too",
			args:      []string{"lag", "--json"},
			overrides: map[string]answer{"GET /admin/v1/lag": {body: `{"groups":[{"group":"g","lag":1,"stuck":true,"partitions":[]}]}`}},
			wantCalls: []string{"GET /admin/v1/lag"},
			wantOut: lines(
				`{`,
				`  "groups": [`,
				`    {`,
				`      "group": "g",`,
				`      "lag": 1,`,
				`      "stuck": true,`,
				`      "partitions": []`,
				`    }`,
				`  ]`,
				`}`,
			),
			wantCode: 3,
		},
		{
			name:     "no arguments",
			args:     []string{"lag", "movie-group"},
			wantErr:  lines(`reelay: unknown command "movie-group" for "reelay lag"`, "Run 'reelay lag --help' for usage."),
			wantCode: 2,
		},
	})
}

func TestTopics(t *testing.T) {
	t.Parallel()
	runCases(t, []cliCase{
		{
			name:      "table",
			args:      []string{"topics"},
			wantCalls: []string{"GET /admin/v1/topics"},
			wantOut: lines(
				"TOPIC               KIND         PARTITIONS  REPLICATION",
				"movie-events        events       6           3",
				"movie-group.dlq     deadletters  6           3",
				"movie-group.replay  replay       1           3",
			),
		},
		{
			name:      "JSON",
			args:      []string{"--json", "topics"},
			overrides: map[string]answer{"GET /admin/v1/topics": {body: `{"topics":[{"name":"movie-events","partitions":6,"replicationFactor":1,"kind":"events"}]}`}},
			wantCalls: []string{"GET /admin/v1/topics"},
			wantOut: lines(
				`{`,
				`  "topics": [`,
				`    {`,
				`      "name": "movie-events",`,
				`      "partitions": 6,`,
				`      "replicationFactor": 1,`,
				`      "kind": "events"`,
				`    }`,
				`  ]`,
				`}`,
			),
		},
	})
}
