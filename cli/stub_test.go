package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reelay/reelay/cli"
)

// The admin API as the contract describes it, served by httptest: it stands
// in for the HTTP edge of a running instance until the real one is merged.

const token = "s3cret"

// now is the tests' clock; the fixtures' times are a few seconds to hours
// before it.
var now = time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)

const groupsJSON = `{"groups":[
 {"group":"movie-group","topic":"movie-group.dlq","depth":3,"total":5,"replayed":1,"discarded":1,
  "oldest":"2026-11-27T18:00:00Z","newest":"2026-11-27T19:59:48Z",
  "byHandler":{"movie:movie-events":3},"byErrorClass":{"transient":1,"malformed":2}},
 {"group":"notif-group","topic":"notif-group.dlq","depth":0,"total":0,"replayed":0,"discarded":0,
  "oldest":null,"newest":null,"byHandler":{},"byErrorClass":{}}]}`

const record12 = `{"group":"movie-group","partition":0,"offset":12,
 "original":{"topic":"movie-events","partition":3,"offset":1042,"timestamp":"2026-11-27T19:59:40Z"},
 "key":"heat","handler":"movie:movie-events",
 "error":"decode movie.created: invalid character 'x' looking for beginning of value",
 "errorClass":"malformed","attempts":1,
 "firstFailure":"2026-11-27T19:59:47Z","lastFailure":"2026-11-27T19:59:47Z","deadLetteredAt":"2026-11-27T19:59:48Z",
 "eventId":"e-1","eventType":"movie.created","eventSource":"/api/v1/movies","correlationId":"c-1",
 "replayCount":0,"truncated":false,"status":"pending",
 "headers":{"content-type":"application/json","ce_type":"movie.created","ce_id":"e-1"},
 "payloadSize":41,"payloadPreview":"{\"id\":\"heat\",\"title\":\"Heat\",\"year\":1995}"}`

const record7 = `{"group":"movie-group","partition":1,"offset":7,
 "original":{"topic":"movie-views","partition":0,"offset":88,"timestamp":"2026-11-27T19:54:00Z"},
 "key":"heat","handler":"movie:movie-views","error":"database is locked","errorClass":"transient","attempts":6,
 "firstFailure":"2026-11-27T19:54:10Z","lastFailure":"2026-11-27T19:54:59Z","deadLetteredAt":"2026-11-27T19:55:00Z",
 "eventId":"e-2","eventType":"movie.viewed","eventSource":"/api/v1/movies","correlationId":"c-2",
 "replayCount":1,"truncated":false,"status":"pending","headers":{},"payloadSize":33,"payloadPreview":"{}"}`

const record3 = `{"group":"movie-group","partition":2,"offset":3,
 "original":{"topic":"movie-events","partition":1,"offset":5,"timestamp":"2026-11-27T17:00:00Z"},
 "key":"a\nb","handler":"movie:movie-events","error":"year\tout of range","errorClass":"invalid","attempts":1,
 "firstFailure":"2026-11-27T17:00:01Z","lastFailure":"2026-11-27T17:00:01Z","deadLetteredAt":"2026-11-27T17:00:02Z",
 "eventId":"e-3","eventType":"movie.updated","eventSource":"kcat","correlationId":"",
 "replayCount":0,"truncated":false,"status":"pending","headers":{},"payloadSize":2,"payloadPreview":"{}"}`

// The record of GET …/records/0/12: the listing's fields and the payload.
var record12Full = strings.TrimSuffix(record12, "}") + `,"payload":"{\"id\":\"heat\",\"title\":\"Heat\",\"year\":1995}"}`

const lagJSON = `{"groups":[
 {"group":"movie-group","lag":12,"stuck":false,"partitions":[
  {"topic":"movie-events","partition":0,"committed":10,"end":10,"lag":0,"lastProgress":"2026-11-27T19:59:57Z","stuck":false},
  {"topic":"movie-views","partition":3,"committed":40,"end":52,"lag":12,"lastProgress":"2026-11-27T19:58:00Z","stuck":false}]},
 {"group":"analytics-group","lag":0,"stuck":false,"partitions":[
  {"topic":"user-actions","partition":0,"committed":-1,"end":0,"lag":0,"lastProgress":null,"stuck":false}]}]}`

const lagStuckJSON = `{"groups":[
 {"group":"movie-group","lag":12,"stuck":true,"partitions":[
  {"topic":"movie-views","partition":3,"committed":40,"end":52,"lag":12,"lastProgress":"2026-11-27T19:40:00Z","stuck":true}]}]}`

const topicsJSON = `{"topics":[
 {"name":"movie-events","partitions":6,"replicationFactor":3,"kind":"events"},
 {"name":"movie-group.dlq","partitions":6,"replicationFactor":3,"kind":"deadletters"},
 {"name":"movie-group.replay","partitions":1,"replicationFactor":3,"kind":"replay"}]}`

// replayState is the Replay object r-1 after published, skipped and
// failedAgain records of 3.
func replayState(status string, published, skipped, failedAgain int) string {
	return fmt.Sprintf(`{"id":"r-1","group":"movie-group","status":%q,"filter":{"handler":"movie:movie-events"},`+
		`"total":3,"published":%d,"skipped":%d,"failedAgain":%d,`+
		`"createdAt":"2026-11-27T20:00:00Z","updatedAt":"2026-11-27T20:00:01Z"}`, status, published, skipped, failedAgain)
}

// answer is a canned response; delay holds it back.
type answer struct {
	status int
	body   string
	delay  time.Duration
}

// request is what the stub received.
type request struct {
	call string // "METHOD /escaped/path?query"
	auth string
	body string
}

// adminStub serves the admin API contract from fixtures and records the
// requests. Like the real server it answers 401 to a request without the
// right token. overrides (by "METHOD /escaped/path") replace the fixtures;
// replays are the answers of GET /admin/v1/replays/r-1 in turn, the last
// one repeated.
type adminStub struct {
	overrides map[string]answer
	replays   []string

	mu       sync.Mutex
	requests []request
}

func (s *adminStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	call := r.Method + " " + r.URL.EscapedPath()
	s.mu.Lock()
	s.requests = append(s.requests, request{call: strings.TrimSuffix(call+"?"+r.URL.RawQuery, "?"), auth: r.Header.Get("Authorization"), body: string(body)})
	s.mu.Unlock()

	if r.Header.Get("Authorization") != "Bearer "+token {
		reply(w, answer{status: 401, body: `{"error":{"code":"unauthorized","message":"missing or wrong admin token"}}`})
		return
	}
	if a, ok := s.overrides[call]; ok {
		reply(w, a)
		return
	}
	s.fixtures(w, r, body)
}

func (s *adminStub) fixtures(w http.ResponseWriter, r *http.Request, body []byte) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v1/deadletters", func(w http.ResponseWriter, r *http.Request) {
		reply(w, answer{body: groupsJSON})
	})
	mux.HandleFunc("GET /admin/v1/deadletters/{group}/records", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			reply(w, answer{body: `{"records":[` + record12 + `,` + record7 + `],"next":"c2"}`})
		case "c2":
			reply(w, answer{body: `{"records":[` + record3 + `]}`})
		default:
			reply(w, answer{status: 400, body: `{"error":{"code":"validation_failed","message":"bad cursor"}}`})
		}
	})
	mux.HandleFunc("GET /admin/v1/deadletters/{group}/records/{partition}/{offset}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("partition") != "0" || r.PathValue("offset") != "12" {
			reply(w, answer{status: 404, body: `{"error":{"code":"not_found","message":"no dead letter at 9:9"}}`})
			return
		}
		reply(w, answer{body: record12Full})
	})
	mux.HandleFunc("POST /admin/v1/deadletters/{group}/replay", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			DryRun bool `json:"dryRun"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			reply(w, answer{status: 400, body: `{"error":{"code":"invalid_json","message":"bad body"}}`})
			return
		}
		if req.DryRun {
			reply(w, answer{body: `{"dryRun":true,"matched":120,"records":[` + record12 + `]}`})
			return
		}
		reply(w, answer{status: 202, body: `{"replay":` + replayState("running", 0, 0, 0) + `}`})
	})
	mux.HandleFunc("GET /admin/v1/replays/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		next := s.replays[0]
		if len(s.replays) > 1 {
			s.replays = s.replays[1:]
		}
		s.mu.Unlock()
		reply(w, answer{body: next})
	})
	mux.HandleFunc("POST /admin/v1/deadletters/{group}/discard", func(w http.ResponseWriter, r *http.Request) {
		reply(w, answer{body: `{"discarded":3}`})
	})
	mux.HandleFunc("GET /admin/v1/lag", func(w http.ResponseWriter, r *http.Request) {
		reply(w, answer{body: lagJSON})
	})
	mux.HandleFunc("GET /admin/v1/topics", func(w http.ResponseWriter, r *http.Request) {
		reply(w, answer{body: topicsJSON})
	})
	mux.ServeHTTP(w, r)
}

func reply(w http.ResponseWriter, a answer) {
	if a.delay > 0 {
		time.Sleep(a.delay)
	}
	if a.status == 0 {
		a.status = 200
	}
	if strings.HasPrefix(a.body, "{") {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

// newServer serves h until the test ends.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// cliCase is one run of the command line against a fresh stub.
type cliCase struct {
	name      string
	args      []string
	env       map[string]string // over REELAY_ADMIN_URL (the stub), REELAY_ADMIN_TOKEN and USER
	overrides map[string]answer
	replays   []string
	tty       bool

	wantCalls []string // the requests, in order: "METHOD /path?query"
	wantAuth  string   // Authorization of each request: "Bearer s3cret" unless set, "-" for none
	wantBody  string   // JSON of the request with a body, compared as JSON
	wantOut   string   // {url} is the stub's URL
	wantErr   string   // {url} is the stub's URL
	wantCode  int
}

func runCases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stub := &adminStub{overrides: tc.overrides, replays: tc.replays}
			srv := newServer(t, stub)

			env := map[string]string{"REELAY_ADMIN_URL": srv.URL, "REELAY_ADMIN_TOKEN": token, "USER": "alice"}
			for k, v := range tc.env {
				env[k] = v
			}
			out, errOut, code := execute(t, env, tc.tty, tc.args...)

			if code != tc.wantCode {
				t.Errorf("exit status %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			if want := strings.ReplaceAll(tc.wantOut, "{url}", srv.URL); out != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
			}
			if want := strings.ReplaceAll(tc.wantErr, "{url}", srv.URL); errOut != want {
				t.Errorf("stderr:\n%q\nwant:\n%q", errOut, want)
			}
			wantAuth := tc.wantAuth
			switch wantAuth {
			case "":
				wantAuth = "Bearer " + token
			case "-":
				wantAuth = ""
			}
			stub.mu.Lock()
			requests := stub.requests
			stub.mu.Unlock()
			var calls []string
			var body string
			for _, r := range requests {
				calls = append(calls, r.call)
				if r.auth != wantAuth {
					t.Errorf("%s: Authorization %q", r.call, r.auth)
				}
				if body == "" {
					body = r.body
				}
			}
			if !reflect.DeepEqual(calls, tc.wantCalls) {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(tc.wantCalls, "\n"))
			}
			if !jsonEqual(body, tc.wantBody) {
				t.Errorf("request body %s, want %s", body, tc.wantBody)
			}
		})
	}
}

// execute runs the reelay command line as main does, with env as the
// environment, and returns stdout, stderr and the exit status.
func execute(t *testing.T, env map[string]string, tty bool, args ...string) (string, string, int) {
	t.Helper()
	root := cli.New(cli.Deps{
		Getenv:       func(k string) string { return env[k] },
		Serve:        func() int { t.Error("serve called"); return 0 },
		Now:          func() time.Time { return now },
		PollInterval: time.Millisecond,
		IsTerminal:   func(io.Writer) bool { return tty },
	})
	var out, errOut bytes.Buffer
	root.SetArgs(append([]string{}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := cli.Execute(ctx, root)
	return out.String(), errOut.String(), code
}

func jsonEqual(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// lines joins its arguments, each ended by a newline.
func lines(ls ...string) string {
	return strings.Join(ls, "\n") + "\n"
}
