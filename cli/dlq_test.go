package cli_test

import (
	"encoding/json"
	"testing"
)

const recordsHeader = "RECORD  STATUS   HANDLER             CLASS      ATTEMPTS  DEAD-LETTERED  TYPE           KEY   ERROR"

func TestDLQList(t *testing.T) {
	t.Parallel()
	runCases(t, []cliCase{
		{
			name:      "groups",
			args:      []string{"dlq", "ls"},
			wantCalls: []string{"GET /admin/v1/deadletters"},
			wantOut: lines(
				"GROUP        TOPIC            PENDING  TOTAL  REPLAYED  DISCARDED  OLDEST  NEWEST   ERRORS",
				"movie-group  movie-group.dlq  3        5      1         1          2h ago  12s ago  malformed=2 transient=1",
				"notif-group  notif-group.dlq  0        0      0         0          -       -        -",
			),
		},
		{
			name:      "groups as JSON",
			args:      []string{"dlq", "ls", "--json"},
			overrides: map[string]answer{"GET /admin/v1/deadletters": {body: `{"groups":[{"group":"g","depth":0}]}`}},
			wantCalls: []string{"GET /admin/v1/deadletters"},
			wantOut: lines(
				`{`,
				`  "groups": [`,
				`    {`,
				`      "group": "g",`,
				`      "depth": 0`,
				`    }`,
				`  ]`,
				`}`,
			),
		},
		{
			name:      "one page of pending records says there are more",
			args:      []string{"dlq", "ls", "movie-group"},
			wantCalls: []string{"GET /admin/v1/deadletters/movie-group/records?status=pending"},
			wantOut: lines(
				recordsHeader,
				"0:12    pending  movie:movie-events  malformed  1         12s ago        movie.created  heat  decode movie.created: invalid character 'x' looking for beg…",
				"1:7     pending  movie:movie-views   transient  6         5m ago         movie.viewed   heat  database is locked",
			),
			wantErr: "more records: --all-pages lists them all\n",
		},
		{
			name: "every page with filters; control characters do not break the table",
			args: []string{"dlq", "ls", "movie-group", "--all-pages", "--status", "all", "--handler", "movie:movie-events", "--error", "year", "--limit", "2"},
			wantCalls: []string{
				"GET /admin/v1/deadletters/movie-group/records?error=year&handler=movie%3Amovie-events&limit=2&status=all",
				"GET /admin/v1/deadletters/movie-group/records?cursor=c2&error=year&handler=movie%3Amovie-events&limit=2&status=all",
			},
			wantOut: lines(
				recordsHeader,
				"0:12    pending  movie:movie-events  malformed  1         12s ago        movie.created  heat  decode movie.created: invalid character 'x' looking for beg…",
				"1:7     pending  movie:movie-views   transient  6         5m ago         movie.viewed   heat  database is locked",
				"2:3     pending  movie:movie-events  invalid    1         2h ago         movie.updated  a b   year out of range",
			),
		},
		{
			name:      "the page a cursor names",
			args:      []string{"dlq", "ls", "movie-group", "--cursor", "c2"},
			wantCalls: []string{"GET /admin/v1/deadletters/movie-group/records?cursor=c2&status=pending"},
			wantOut: lines(
				"RECORD  STATUS   HANDLER             CLASS    ATTEMPTS  DEAD-LETTERED  TYPE           KEY  ERROR",
				"2:3     pending  movie:movie-events  invalid  1         2h ago         movie.updated  a b  year out of range",
			),
		},
		{
			name:      "a group name is one path segment",
			args:      []string{"dlq", "ls", "team/a b", "--status", "discarded"},
			overrides: map[string]answer{"GET /admin/v1/deadletters/team%2Fa%20b/records": {body: `{"records":[]}`}},
			wantCalls: []string{"GET /admin/v1/deadletters/team%2Fa%20b/records?status=discarded"},
			wantOut:   lines("RECORD  STATUS  HANDLER  CLASS  ATTEMPTS  DEAD-LETTERED  TYPE  KEY  ERROR"),
		},
		{
			name:      "a cursor that does not move stops the listing",
			args:      []string{"dlq", "ls", "g", "--all-pages"},
			overrides: map[string]answer{"GET /admin/v1/deadletters/g/records": {body: `{"records":[],"next":"c1"}`}},
			wantCalls: []string{
				"GET /admin/v1/deadletters/g/records?status=pending",
				"GET /admin/v1/deadletters/g/records?cursor=c1&status=pending",
			},
			wantErr:  "reelay: the server gave the same cursor twice (\"c1\")\n",
			wantCode: 1,
		},
		{
			name:     "unknown status",
			args:     []string{"dlq", "ls", "movie-group", "--status", "pending,replayed"},
			wantErr:  lines(`reelay: --status "pending,replayed": want pending, replaying, replayed, discarded or all`, "Run 'reelay dlq ls --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "record filters without a group",
			args:     []string{"dlq", "ls", "--handler", "h"},
			wantErr:  lines("reelay: --handler needs a GROUP", "Run 'reelay dlq ls --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "limit below one",
			args:     []string{"dlq", "ls", "g", "--limit", "0"},
			wantErr:  lines("reelay: --limit must be at least 1, not 0", "Run 'reelay dlq ls --help' for usage."),
			wantCode: 2,
		},
	})
}

// The pages of --all-pages --json are one answer, without a cursor.
func TestDLQListAllPagesJSON(t *testing.T) {
	t.Parallel()
	stub := &adminStub{}
	srv := newServer(t, stub)
	out, errOut, code := execute(t, map[string]string{"REELAY_ADMIN_URL": srv.URL, "REELAY_ADMIN_TOKEN": token},
		false, "dlq", "ls", "movie-group", "--all-pages", "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("exit status %d, stderr %q", code, errOut)
	}
	var got map[string][]map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if len(got) != 1 || len(got["records"]) != 3 {
		t.Fatalf("want {\"records\":[3 records]}, got %s", out)
	}
	for i, want := range []float64{12, 7, 3} {
		if got["records"][i]["offset"] != want {
			t.Errorf("record %d has offset %v, want %v", i, got["records"][i]["offset"], want)
		}
	}
}

func TestDLQShow(t *testing.T) {
	t.Parallel()
	runCases(t, []cliCase{
		{
			name:      "metadata, sorted headers, indented JSON payload",
			args:      []string{"dlq", "show", "movie-group", "0", "12"},
			wantCalls: []string{"GET /admin/v1/deadletters/movie-group/records/0/12"},
			wantOut: lines(
				"record          movie-group 0:12",
				"status          pending",
				"original        movie-events partition 3 offset 1042 at 2026-11-27T19:59:40Z",
				"key             heat",
				"handler         movie:movie-events",
				"error class     malformed",
				"error           decode movie.created: invalid character 'x' looking for beginning of value",
				"attempts        1",
				"first failure   2026-11-27T19:59:47Z",
				"last failure    2026-11-27T19:59:47Z",
				"dead-lettered   2026-11-27T19:59:48Z",
				"event id        e-1",
				"event type      movie.created",
				"event source    /api/v1/movies",
				"correlation id  c-1",
				"replays         0",
				"",
				"headers",
				"  ce_id: e-1",
				"  ce_type: movie.created",
				"  content-type: application/json",
				"",
				"payload (41 bytes)",
				"{",
				`  "id": "heat",`,
				`  "title": "Heat",`,
				`  "year": 1995`,
				"}",
			),
		},
		{
			name: "discarded, truncated, binary payload",
			args: []string{"dlq", "show", "movie-group", "1", "7"},
			overrides: map[string]answer{"GET /admin/v1/deadletters/movie-group/records/1/7": {body: `{"group":"movie-group","partition":1,"offset":7,
				"original":{"topic":"movie-views","partition":0,"offset":88,"timestamp":"2026-11-27T19:54:00Z"},
				"key":"","handler":"movie:movie-views","error":"x","errorClass":"permanent","attempts":1,
				"firstFailure":null,"lastFailure":null,"deadLetteredAt":"2026-11-27T19:55:00Z",
				"replayCount":2,"fromReplay":"r-8","truncated":true,"status":"discarded","replayId":"r-9",
				"discard":{"by":"alice","at":"2026-11-27T19:58:00Z","reason":"duplicate"},
				"headers":{"x-evil":"\u001b[31mred"},"payloadSize":1048576,"payloadBase64":"/wA="}`}},
			wantCalls: []string{"GET /admin/v1/deadletters/movie-group/records/1/7"},
			wantOut: lines(
				"record          movie-group 1:7",
				"status          discarded",
				"original        movie-views partition 0 offset 88 at 2026-11-27T19:54:00Z",
				"key             -",
				"handler         movie:movie-views",
				"error class     permanent",
				"error           x",
				"attempts        1",
				"first failure   -",
				"last failure    -",
				"dead-lettered   2026-11-27T19:55:00Z",
				"event id        -",
				"event type      -",
				"event source    -",
				"correlation id  -",
				"replays         2",
				"replay id       r-9",
				"from replay     r-8",
				"discarded       2026-11-27T19:58:00Z by alice: duplicate",
				"truncated       yes: the payload is a truncated copy of the original",
				"",
				"headers",
				`  x-evil: \x1b[31mred`,
				"",
				"payload (1048576 bytes, not UTF-8, in base64)",
				"/wA=",
			),
		},
		{
			name: "a text payload that is not JSON is printed as it is, escapes escaped",
			args: []string{"dlq", "show", "g", "0", "1"},
			overrides: map[string]answer{"GET /admin/v1/deadletters/g/records/0/1": {body: `{"group":"g","partition":0,"offset":1,
				"original":{"topic":"t","partition":0,"offset":0,"timestamp":null},"status":"pending","attempts":1,
				"headers":{},"payloadSize":13,"payload":"not json\n\u001b]0;x\u0007"}`}},
			wantCalls: []string{"GET /admin/v1/deadletters/g/records/0/1"},
			wantOut: lines(
				"record          g 0:1",
				"status          pending",
				"original        t partition 0 offset 0 at -",
				"key             -",
				"handler         -",
				"error class     -",
				"error           -",
				"attempts        1",
				"first failure   -",
				"last failure    -",
				"dead-lettered   -",
				"event id        -",
				"event type      -",
				"event source    -",
				"correlation id  -",
				"replays         0",
				"",
				"headers",
				"",
				"payload (13 bytes)",
				"not json",
				`\x1b]0;x\x07`,
			),
		},
		{
			name:      "not found",
			args:      []string{"dlq", "show", "movie-group", "9", "9"},
			wantCalls: []string{"GET /admin/v1/deadletters/movie-group/records/9/9"},
			wantErr:   "reelay: not_found: no dead letter at 9:9\n",
			wantCode:  1,
		},
		{
			name:      "PARTITION:OFFSET as in the RECORD column",
			args:      []string{"dlq", "show", "movie-group", "0:12", "--json"},
			overrides: map[string]answer{"GET /admin/v1/deadletters/movie-group/records/0/12": {body: `{"partition":0,"offset":12}`}},
			wantCalls: []string{"GET /admin/v1/deadletters/movie-group/records/0/12"},
			wantOut:   lines(`{`, `  "partition": 0,`, `  "offset": 12`, `}`),
		},
		{
			name:     "one position argument without a colon",
			args:     []string{"dlq", "show", "movie-group", "12"},
			wantErr:  lines(`reelay: "12": want PARTITION OFFSET or PARTITION:OFFSET`, "Run 'reelay dlq show --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "offset not a number",
			args:     []string{"dlq", "show", "movie-group", "0", "twelve"},
			wantErr:  lines(`reelay: OFFSET "twelve": want a number from 0`, "Run 'reelay dlq show --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "no position",
			args:     []string{"dlq", "show", "movie-group"},
			wantErr:  lines("reelay: accepts between 2 and 3 arg(s), received 1", "Run 'reelay dlq show --help' for usage."),
			wantCode: 2,
		},
	})
}

func TestDLQReplay(t *testing.T) {
	t.Parallel()
	progress := []string{
		replayState("running", 1, 0, 0),
		replayState("running", 1, 0, 0), // unchanged: no line
		replayState("done", 3, 0, 0),
	}
	runCases(t, []cliCase{
		{
			name:    "follows the progress until done",
			args:    []string{"dlq", "replay", "movie-group", "--handler", "movie:movie-events"},
			replays: progress,
			wantCalls: []string{
				"POST /admin/v1/deadletters/movie-group/replay",
				"GET /admin/v1/replays/r-1",
				"GET /admin/v1/replays/r-1",
				"GET /admin/v1/replays/r-1",
			},
			wantBody: `{"filter":{"handler":"movie:movie-events"},"dryRun":false}`,
			wantOut:  "replay r-1 done: 3 records, 3 published, 0 skipped, 0 dead-lettered again\n",
			wantErr: lines(
				"replay r-1 running: 0/3 published, 0 skipped, 0 dead-lettered again",
				"replay r-1 running: 1/3 published, 0 skipped, 0 dead-lettered again",
				"replay r-1 done: 3/3 published, 0 skipped, 0 dead-lettered again",
			),
		},
		{
			name:    "on a terminal the progress is one line",
			args:    []string{"dlq", "replay", "movie-group", "--handler", "movie:movie-events"},
			replays: progress,
			tty:     true,
			wantCalls: []string{
				"POST /admin/v1/deadletters/movie-group/replay",
				"GET /admin/v1/replays/r-1",
				"GET /admin/v1/replays/r-1",
				"GET /admin/v1/replays/r-1",
			},
			wantBody: `{"filter":{"handler":"movie:movie-events"},"dryRun":false}`,
			wantOut:  "replay r-1 done: 3 records, 3 published, 0 skipped, 0 dead-lettered again\n",
			wantErr: "\rreplay r-1 running: 0/3 published, 0 skipped, 0 dead-lettered again" +
				"\rreplay r-1 running: 1/3 published, 0 skipped, 0 dead-lettered again" +
				"\rreplay r-1 done: 3/3 published, 0 skipped, 0 dead-lettered again   \n",
		},
		{
			name:      "records dead-lettered again: exit status 3",
			args:      []string{"dlq", "replay", "movie-group", "--all"},
			replays:   []string{replayState("done", 2, 0, 1)},
			wantCalls: []string{"POST /admin/v1/deadletters/movie-group/replay", "GET /admin/v1/replays/r-1"},
			wantBody:  `{"filter":{"all":true},"dryRun":false}`,
			wantOut:   "replay r-1 done: 3 records, 2 published, 0 skipped, 1 dead-lettered again\n",
			wantErr: lines(
				"replay r-1 running: 0/3 published, 0 skipped, 0 dead-lettered again",
				"replay r-1 done: 2/3 published, 0 skipped, 1 dead-lettered again",
			),
			wantCode: 3,
		},
		{
			name:      "records skipped: exit status 3, the final state as JSON",
			args:      []string{"dlq", "replay", "movie-group", "--all", "--json"},
			replays:   []string{`{"id":"r-1","status":"done","total":3,"published":2,"skipped":1,"failedAgain":0}`},
			wantCalls: []string{"POST /admin/v1/deadletters/movie-group/replay", "GET /admin/v1/replays/r-1"},
			wantBody:  `{"filter":{"all":true},"dryRun":false}`,
			wantOut: lines(
				`{`,
				`  "replay": {`,
				`    "id": "r-1",`,
				`    "status": "done",`,
				`    "total": 3,`,
				`    "published": 2,`,
				`    "skipped": 1,`,
				`    "failedAgain": 0`,
				`  }`,
				`}`,
			),
			wantErr: lines(
				"replay r-1 running: 0/3 published, 0 skipped, 0 dead-lettered again",
				"replay r-1 done: 2/3 published, 1 skipped, 0 dead-lettered again",
			),
			wantCode: 3,
		},
		{
			name:      "a status other than running or done ends the wait as a failure",
			args:      []string{"dlq", "replay", "movie-group", "--all"},
			replays:   []string{replayState("cancelled", 1, 0, 0)},
			wantCalls: []string{"POST /admin/v1/deadletters/movie-group/replay", "GET /admin/v1/replays/r-1"},
			wantBody:  `{"filter":{"all":true},"dryRun":false}`,
			wantErr: lines(
				"replay r-1 running: 0/3 published, 0 skipped, 0 dead-lettered again",
				"replay r-1 cancelled: 1/3 published, 0 skipped, 0 dead-lettered again",
				`reelay: replay r-1 ended "cancelled"`,
			),
			wantCode: 1,
		},
		{
			name:      "the replay is gone while followed",
			args:      []string{"dlq", "replay", "movie-group", "--all"},
			overrides: map[string]answer{"GET /admin/v1/replays/r-1": {status: 404, body: `{"error":{"code":"not_found","message":"no replay r-1"}}`}},
			wantCalls: []string{"POST /admin/v1/deadletters/movie-group/replay", "GET /admin/v1/replays/r-1"},
			wantBody:  `{"filter":{"all":true},"dryRun":false}`,
			wantErr: lines(
				"replay r-1 running: 0/3 published, 0 skipped, 0 dead-lettered again",
				"reelay: replay r-1: not_found: no replay r-1",
			),
			wantCode: 1,
		},
		{
			name: "every filter",
			args: []string{"dlq", "replay", "movie-group", "--handler", "h", "--error", "locked", "--partition", "0",
				"--from-offset", "0", "--to-offset", "99", "--record", "0:12", "--record", "0:13", "--no-wait"},
			wantCalls: []string{"POST /admin/v1/deadletters/movie-group/replay"},
			wantBody: `{"filter":{"handler":"h","error":"locked","partition":0,"fromOffset":0,"toOffset":99,
				"records":[{"partition":0,"offset":12},{"partition":0,"offset":13}]},"dryRun":false}`,
			wantOut: "replay r-1 started: 3 records\n",
		},
		{
			name:      "dry run",
			args:      []string{"dlq", "replay", "movie-group", "--error", "invalid character", "--dry-run"},
			wantCalls: []string{"POST /admin/v1/deadletters/movie-group/replay"},
			wantBody:  `{"filter":{"error":"invalid character"},"dryRun":true}`,
			wantOut: lines(
				recordsHeader,
				"0:12    pending  movie:movie-events  malformed  1         12s ago        movie.created  heat  decode movie.created: invalid character 'x' looking for beg…",
				"120 records match (the first 1 shown); dry run, nothing replayed",
			),
		},
		{
			name:      "dry run with records a replay would skip",
			args:      []string{"dlq", "replay", "movie-group", "--all", "--dry-run"},
			overrides: map[string]answer{"POST /admin/v1/deadletters/movie-group/replay": {body: `{"dryRun":true,"matched":1,"skipped":1,"records":[` + record7 + `]}`}},
			wantCalls: []string{"POST /admin/v1/deadletters/movie-group/replay"},
			wantBody:  `{"filter":{"all":true},"dryRun":true}`,
			wantOut: lines(
				"RECORD  STATUS   HANDLER            CLASS      ATTEMPTS  DEAD-LETTERED  TYPE          KEY   ERROR",
				"1:7     pending  movie:movie-views  transient  6         5m ago         movie.viewed  heat  database is locked",
				"1 record matches, 1 of them would be skipped; dry run, nothing replayed",
			),
		},
		{
			name:      "the server refuses the filter",
			args:      []string{"dlq", "replay", "movie-group", "--partition", "99"},
			overrides: map[string]answer{"POST /admin/v1/deadletters/movie-group/replay": {status: 400, body: `{"error":{"code":"validation_failed","message":"partition 99 does not exist"}}`}},
			wantCalls: []string{"POST /admin/v1/deadletters/movie-group/replay"},
			wantBody:  `{"filter":{"partition":99},"dryRun":false}`,
			wantErr:   "reelay: validation_failed: partition 99 does not exist\n",
			wantCode:  1,
		},
		{
			name:     "no filter",
			args:     []string{"dlq", "replay", "movie-group"},
			wantErr:  lines("reelay: say which records: --handler, --key, --error, --partition, --from-offset, --to-offset, --record, or --all", "Run 'reelay dlq replay --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "--all with a filter",
			args:     []string{"dlq", "replay", "movie-group", "--all", "--handler", "h"},
			wantErr:  lines("reelay: --all selects every record: leave out the other filters", "Run 'reelay dlq replay --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "a record that is not PARTITION:OFFSET",
			args:     []string{"dlq", "replay", "movie-group", "--record", "12"},
			wantErr:  lines(`reelay: --record "12": want PARTITION:OFFSET, e.g. 0:12`, "Run 'reelay dlq replay --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "offsets the wrong way round",
			args:     []string{"dlq", "replay", "movie-group", "--from-offset", "9", "--to-offset", "1"},
			wantErr:  lines("reelay: --from-offset 9 is after --to-offset 1", "Run 'reelay dlq replay --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "unknown flag",
			args:     []string{"dlq", "replay", "movie-group", "--al"},
			wantErr:  lines("reelay: unknown flag: --al", "Run 'reelay dlq replay --help' for usage."),
			wantCode: 2,
		},
	})
}

func TestDLQDiscard(t *testing.T) {
	t.Parallel()
	runCases(t, []cliCase{
		{
			name:      "by $USER",
			args:      []string{"dlq", "discard", "movie-group", "--handler", "movie:movie-events", "--reason", "bad import"},
			wantCalls: []string{"POST /admin/v1/deadletters/movie-group/discard"},
			wantBody:  `{"filter":{"handler":"movie:movie-events"},"reason":"bad import","by":"alice"}`,
			wantOut:   "discarded 3 records of movie-group\n",
		},
		{
			name:      "by someone else, as JSON",
			args:      []string{"dlq", "discard", "movie-group", "--record", "1:7", "--reason", "duplicate", "--by", "bob", "--json"},
			wantCalls: []string{"POST /admin/v1/deadletters/movie-group/discard"},
			wantBody:  `{"filter":{"records":[{"partition":1,"offset":7}]},"reason":"duplicate","by":"bob"}`,
			wantOut:   lines(`{`, `  "discarded": 3`, `}`),
		},
		{
			name:      "one record",
			args:      []string{"dlq", "discard", "movie-group", "--record", "0:12", "--reason", "bad import"},
			overrides: map[string]answer{"POST /admin/v1/deadletters/movie-group/discard": {body: `{"discarded":1}`}},
			wantCalls: []string{"POST /admin/v1/deadletters/movie-group/discard"},
			wantBody:  `{"filter":{"records":[{"partition":0,"offset":12}]},"reason":"bad import","by":"alice"}`,
			wantOut:   "discarded 1 record of movie-group\n",
		},
		{
			name:     "no reason",
			args:     []string{"dlq", "discard", "movie-group", "--all"},
			wantErr:  lines("reelay: --reason must say why", "Run 'reelay dlq discard --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "nobody",
			args:     []string{"dlq", "discard", "movie-group", "--all", "--reason", "r"},
			env:      map[string]string{"USER": ""},
			wantErr:  lines("reelay: --by is needed when $USER is not set", "Run 'reelay dlq discard --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "no filter",
			args:     []string{"dlq", "discard", "movie-group", "--reason", "r"},
			wantErr:  lines("reelay: say which records: --handler, --key, --error, --partition, --from-offset, --to-offset, --record, or --all", "Run 'reelay dlq discard --help' for usage."),
			wantCode: 2,
		},
	})
}
