package test_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/fx"

	"github.com/reelay/reelay/cli"
	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/handlers/movie"
)

const adminToken = "test-admin-token-0123456789"

// adminConfig is testConfig with the admin API on.
func adminConfig(t *testing.T) config.Config {
	cfg := testConfig(t)
	cfg.AdminToken = adminToken
	return cfg
}

// admin sends an admin request with the token and decodes the answer.
func (in *instance) admin(method, path string, body any) (int, map[string]any) {
	in.t.Helper()
	code, out := in.do(method, path, body, map[string]string{"Authorization": "Bearer " + adminToken})
	m, _ := out.(map[string]any)
	return code, m
}

// mustAdmin is admin that fails the test unless the status is want.
func (in *instance) mustAdmin(want int, method, path string, body any) map[string]any {
	in.t.Helper()
	code, out := in.admin(method, path, body)
	if code != want {
		in.t.Fatalf("%s %s: %d %v, want %d", method, path, code, out, want)
	}
	return out
}

// adminRoutes are every admin route, as a request that would succeed.
var adminRoutes = []struct {
	method, path string
	body         any
}{
	{http.MethodGet, "/admin/v1/deadletters", nil},
	{http.MethodGet, "/admin/v1/deadletters/movie-group/records", nil},
	{http.MethodGet, "/admin/v1/deadletters/movie-group/records/0/0", nil},
	{http.MethodPost, "/admin/v1/deadletters/movie-group/replay", map[string]any{"filter": map[string]any{"all": true}, "dryRun": true}},
	{http.MethodPost, "/admin/v1/deadletters/movie-group/discard", map[string]any{"filter": map[string]any{"all": true}, "reason": "r"}},
	{http.MethodGet, "/admin/v1/replays/00000000-0000-0000-0000-000000000000", nil},
	{http.MethodGet, "/admin/v1/lag", nil},
	{http.MethodGet, "/admin/v1/topics", nil},
	{http.MethodGet, "/admin/v1/flow", nil},
	{http.MethodGet, "/admin/v1/events/recent?limit=5", nil},
}

// TestAdminAPINeedsTheToken: with no token configured every admin route
// answers 403 admin_disabled, even with a bearer token; with one, every
// route refuses a request without it or with a wrong one (401 and
// WWW-Authenticate), and serves the right one.
func TestAdminAPINeedsTheToken(t *testing.T) {
	parallel(t)
	off := start(t, testConfig(t))
	on := start(t, adminConfig(t))
	for _, r := range adminRoutes {
		code, body := off.do(r.method, r.path, r.body, map[string]string{"Authorization": "Bearer " + adminToken})
		if code != http.StatusForbidden || errorCode(body) != "admin_disabled" {
			t.Errorf("disabled: %s %s: %d %v", r.method, r.path, code, body)
		}
		for name, h := range map[string]map[string]string{
			"no header": nil, "wrong token": {"Authorization": "Bearer " + adminToken + "x"},
			"not bearer": {"Authorization": "Basic " + adminToken}, "empty": {"Authorization": "Bearer "},
		} {
			code, body := on.do(r.method, r.path, r.body, h)
			if code != http.StatusUnauthorized || errorCode(body) != "unauthorized" {
				t.Errorf("%s: %s %s: %d %v", name, r.method, r.path, code, body)
			}
		}
		code, body = on.admin(r.method, r.path, r.body)
		if code >= 500 || code == http.StatusUnauthorized || code == http.StatusForbidden {
			t.Errorf("with the token: %s %s: %d %v", r.method, r.path, code, body)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, on.base+"/admin/v1/lag", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Fatalf("WWW-Authenticate %q", got)
	}
}

func errorCode(body any) string {
	m, _ := body.(map[string]any)
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// errPoisoned is the failure of the poisoned movie store.
var errPoisoned = errors.New("poisoned movie store")

// poisonedMovies fails every write of views of movies whose id starts with
// "poison" while broken is true: a handler bug for one class of events,
// fixed by setting broken to false.
type poisonedMovies struct {
	movie.Store
	broken *atomic.Bool
}

func (p poisonedMovies) CountViews(ctx context.Context, views []movie.ViewCount) error {
	for _, v := range views {
		if p.broken.Load() && strings.HasPrefix(v.MovieID, "poison") {
			return errPoisoned
		}
	}
	return p.Store.CountViews(ctx, views)
}

func poisonMovieStore(broken *atomic.Bool) fx.Option {
	return fx.Decorate(func(s movie.Store) movie.Store { return poisonedMovies{Store: s, broken: broken} })
}

// views reads a movie's view count in movie-group's read model (-1 while
// it has none) and in analytics-group's.
func (in *instance) views(movieID string) (movieGroup, analytics float64) {
	in.t.Helper()
	movieGroup = -1
	if code, body := in.do(http.MethodGet, "/api/v1/movies/"+movieID, nil, nil); code == http.StatusOK {
		movieGroup = body.(map[string]any)["views"].(float64)
	}
	if code, body := in.do(http.MethodGet, "/api/v1/analytics/movies/"+movieID, nil, nil); code == http.StatusOK {
		analytics = body.(map[string]any)["views"].(float64)
	}
	return movieGroup, analytics
}

// TestPoisonThenFixReplaysToTheFailedGroupOnly: movie-group's handler fails
// for a class of views and dead-letters them while analytics-group, on the
// same topic, counts them; a record without an event id fails in both.
// After the fix, a replay applies each view exactly once in movie-group and
// reaches no other group: analytics-group still counts each once, its dead
// letters are not repeated, and nothing was written to the original topic.
// The record without an id fails again and returns to the dead letters
// with its replay count raised; past REELAY_REPLAY_MAX it is skipped.
// Replaying again sends nothing; the dead letters are resolved.
func TestPoisonThenFixReplaysToTheFailedGroupOnly(t *testing.T) {
	parallel(t)
	var broken atomic.Bool
	broken.Store(true)
	cfg := adminConfig(t)
	cfg.ReplayMax = 1
	in := start(t, cfg, poisonMovieStore(&broken))
	poisoned := []string{uid("poison"), uid("poison"), uid("poison")}
	fine := uid("fine")
	for _, m := range append(poisoned, fine) {
		for u := range 2 {
			in.mustAccept(http.MethodPost, "/api/v1/movies/"+m+"/views", map[string]any{"userId": fmt.Sprintf("u%d", u)})
		}
	}
	noID := poisoned[0] // a record without ce_id, on the same key
	in.produce(events.TopicMovieViews, noID, []byte(`{"movieId":"x","userId":"u"}`), map[string]string{
		events.HeaderSpecVersion: events.SpecVersion, events.HeaderSource: "test", events.HeaderType: events.TypeMovieViewed})
	eventually(t, wait, func() error {
		for _, m := range poisoned {
			if mg, an := in.views(m); mg != -1 || an != 2 {
				return fmt.Errorf("%s: movie-group %v, analytics %v; want none and 2", m, mg, an)
			}
		}
		if mg, an := in.views(fine); mg != 2 || an != 2 {
			return fmt.Errorf("%s: %v/%v", fine, mg, an)
		}
		return nil
	})
	// The index sees the six dead letters, of one handler and class, and
	// the record without id in each group. (On a shared cluster other
	// tests' dead letters may be indexed too: every check below names this
	// test's keys or records.)
	var mine []any
	eventually(t, wait, func() error {
		mine = in.deadLettersOf("movie-group", poisoned...)
		an := in.deadLettersOf("analytics-group", poisoned...)
		if len(mine) != 7 || len(an) != 1 {
			return fmt.Errorf("%d in movie-group, %d in analytics-group indexed; want 7 and 1", len(mine), len(an))
		}
		return nil
	})
	var refs []map[string]any
	classes := map[string]int{}
	for _, r := range mine {
		r := r.(map[string]any)
		refs = append(refs, map[string]any{"partition": r["partition"], "offset": r["offset"]})
		classes[r["errorClass"].(string)]++
		if r["handler"] != "movie:movie-views" || r["status"] != "pending" || r["original"].(map[string]any)["topic"] != events.TopicMovieViews ||
			!slices.Contains(poisoned, r["key"].(string)) {
			t.Fatalf("dead letter %v", r)
		}
		if r["errorClass"] == events.ErrorClassTransient && (r["attempts"].(float64) != 4 || !strings.Contains(r["error"].(string), errPoisoned.Error())) {
			t.Fatalf("dead letter %v: want 4 attempts (REELAY_RETRY_MAX 3) and the handler's error", r)
		}
	}
	if classes[events.ErrorClassTransient] != 6 || classes[events.ErrorClassMalformed] != 1 {
		t.Fatalf("error classes %v", classes)
	}
	first := mine[0].(map[string]any)
	full := in.mustAdmin(http.StatusOK, http.MethodGet, fmt.Sprintf("/admin/v1/deadletters/movie-group/records/%d/%d",
		int(first["partition"].(float64)), int(first["offset"].(float64))), nil)
	if !strings.Contains(full["payload"].(string), `"userId"`) || full["headers"].(map[string]any)[events.HeaderType] != events.TypeMovieViewed {
		t.Fatalf("full record %v", full)
	}
	if code, out, errOut := in.reelay("dlq", "show", "movie-group", fmt.Sprintf("%v:%v", first["partition"], first["offset"])); code != 0 ||
		!strings.Contains(out, "movie:movie-views") || !strings.Contains(out, `"userId"`) {
		t.Fatalf("reelay dlq show: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := in.reelay("dlq", "ls", "movie-group", "--key", noID); code != 0 || strings.Count(out, noID) != 3 {
		t.Fatalf("reelay dlq ls: exit %d\n%s%s", code, out, errOut)
	}
	if externalBrokers() == nil {
		if code, out, _ := in.reelay("dlq", "ls"); code != 0 || !strings.Contains(out, "movie-group.dlq") {
			t.Fatalf("reelay dlq ls: exit %d\n%s", code, out)
		}
		summary := in.mustAdmin(http.StatusOK, http.MethodGet, "/admin/v1/deadletters", nil)
		for _, g := range summary["groups"].([]any) {
			g := g.(map[string]any)
			if want := map[string]float64{"movie-group": 7, "analytics-group": 1}[g["group"].(string)]; g["depth"].(float64) != want ||
				g["byErrorClass"].(map[string]any)[events.ErrorClassTransient] != map[string]any{"movie-group": 6.0}[g["group"].(string)] {
				t.Fatalf("summary %v", g)
			}
		}
	}

	broken.Store(false) // the fix: replay them with the CLI, as an operator would
	var recordArgs []string
	for _, r := range refs {
		recordArgs = append(recordArgs, "--record", fmt.Sprintf("%v:%v", r["partition"], r["offset"]))
	}
	code, out, errOut := in.reelay(append([]string{"dlq", "replay", "movie-group", "--dry-run", "--json"}, recordArgs...)...)
	var dry map[string]any
	if err := json.Unmarshal([]byte(out), &dry); code != 0 || err != nil || dry["matched"].(float64) != 7 || len(dry["records"].([]any)) != 7 {
		t.Fatalf("reelay dlq replay --dry-run: exit %d, %s %s", code, out, errOut)
	}
	code, out, errOut = in.reelay(append([]string{"dlq", "replay", "movie-group", "--json"}, recordArgs...)...)
	var answer map[string]map[string]any
	if err := json.Unmarshal([]byte(out), &answer); err != nil || answer["replay"]["status"] != "done" {
		t.Fatalf("reelay dlq replay: exit %d, %s %s", code, out, errOut)
	}
	replay := answer["replay"]
	if replay["total"].(float64) != 7 || replay["published"].(float64) != 7 || !strings.Contains(errOut, "7/7 published") {
		t.Fatalf("replay %v; progress %q", replay, errOut)
	}
	// Exit status 3 says a record was dead-lettered again, when the replay
	// had already seen it; the record without id fails in the handler, so
	// it may arrive a moment after the replay was sent.
	if code != 0 && code != 3 {
		t.Fatalf("reelay dlq replay: exit %d", code)
	}
	eventually(t, wait, func() error {
		for _, m := range poisoned {
			if mg, _ := in.views(m); mg != 2 {
				return fmt.Errorf("%s: movie-group %v, want 2", m, mg)
			}
		}
		r := in.mustAdmin(http.StatusOK, http.MethodGet, "/admin/v1/replays/"+replay["id"].(string), nil)
		if r["failedAgain"].(float64) != 1 {
			return fmt.Errorf("replay %v: want the record without id failed again", r)
		}
		return nil
	})
	var back []any
	eventually(t, wait, func() error {
		back = in.deadLettersOf("movie-group", noID)
		if len(back) != 4 {
			return fmt.Errorf("%d dead letters of %s, want 3 replayed and 1 new", len(back), noID)
		}
		return nil
	})
	again := back[0].(map[string]any) // newest first
	if again["status"] != "pending" || again["replayCount"].(float64) != 1 || again["fromReplay"] != replay["id"] ||
		again["original"].(map[string]any)["topic"] != events.TopicMovieViews || again["handler"] != "movie:movie-views" ||
		again["errorClass"] != events.ErrorClassMalformed {
		t.Fatalf("dead-lettered again: %v", again)
	}
	// Replaying again sends nothing: the views were replayed, the record
	// without id has been replayed REELAY_REPLAY_MAX (1) times.
	recordArgs = append(recordArgs, "--record", fmt.Sprintf("%v:%v", again["partition"], again["offset"]))
	code, out, errOut = in.reelay(append([]string{"dlq", "replay", "movie-group", "--json"}, recordArgs...)...)
	if err := json.Unmarshal([]byte(out), &answer); err != nil || code != 3 || answer["replay"]["total"].(float64) != 0 ||
		answer["replay"]["skipped"].(float64) != 1 {
		t.Fatalf("second replay: exit %d (want 3: skipped), %s %s", code, out, errOut)
	}
	// No other group saw the replay: analytics-group still counts one view
	// per event and has its one dead letter, and the original topic holds
	// what was produced, nothing more.
	for _, m := range append(poisoned, fine) {
		if mg, an := in.views(m); mg != 2 || an != 2 {
			t.Fatalf("%s: movie-group %v, analytics %v; want 2 and 2", m, mg, an)
		}
	}
	if n := len(in.deadLettersOf("analytics-group", poisoned...)); n != 1 {
		t.Fatalf("analytics-group has %d dead letters, want 1", n)
	}
	if n := len(in.readTopic(events.TopicMovieViews, noID)); n != 3 {
		t.Fatalf("%s holds %d records of %s, want the 3 produced", events.TopicMovieViews, n, noID)
	}
	if externalBrokers() == nil {
		summary := in.mustAdmin(http.StatusOK, http.MethodGet, "/admin/v1/deadletters", nil)
		for _, g := range summary["groups"].([]any) {
			g := g.(map[string]any)
			want := map[string][2]float64{"movie-group": {1, 7}, "analytics-group": {1, 0}}[g["group"].(string)]
			if g["depth"].(float64) != want[0] || g["replayed"].(float64) != want[1] {
				t.Fatalf("after the replay %v, want depth and replayed %v", g, want)
			}
		}
	}

	// The record without id cannot be fixed by replaying: discard it, with
	// a reason, and it shows who, when and why, and leaves the depth.
	rec := fmt.Sprintf("%v:%v", again["partition"], again["offset"])
	if code, out, errOut := in.reelay("dlq", "discard", "movie-group", "--record", rec, "--reason", "no event id: producer bug"); code != 0 ||
		!strings.Contains(out, "discarded 1 record") {
		t.Fatalf("reelay dlq discard: exit %d\n%s%s", code, out, errOut)
	}
	d := in.mustAdmin(http.StatusOK, http.MethodGet, fmt.Sprintf("/admin/v1/deadletters/movie-group/records/%v/%v", again["partition"], again["offset"]), nil)
	if disc, _ := d["discard"].(map[string]any); d["status"] != "discarded" || disc["by"] != "tester" || disc["reason"] != "no event id: producer bug" || disc["at"] == "" {
		t.Fatalf("discarded record %v", d)
	}
	if externalBrokers() == nil {
		eventually(t, wait, func() error {
			if v := metricValue(t, in, `reelay_dead_letters{group="movie-group"}`); v != 0 {
				return fmt.Errorf("reelay_dead_letters{movie-group} = %v", v)
			}
			if v := metricValue(t, in, `reelay_dead_letters{group="analytics-group"}`); v != 1 {
				return fmt.Errorf("reelay_dead_letters{analytics-group} = %v", v)
			}
			return nil
		})
	}
}

// deadLettersOf lists a group's dead letters of the given keys, newest first per key.
func (in *instance) deadLettersOf(group string, keys ...string) []any {
	in.t.Helper()
	var out []any
	for _, k := range keys {
		page := in.mustAdmin(http.StatusOK, http.MethodGet, "/admin/v1/deadletters/"+group+"/records?limit=500&key="+k, nil)
		out = append(out, page["records"].([]any)...)
	}
	return out
}

// reelay runs the reelay CLI in process against the instance's admin API.
func (in *instance) reelay(args ...string) (code int, stdout, stderr string) {
	in.t.Helper()
	env := map[string]string{"REELAY_ADMIN_URL": in.base, "REELAY_ADMIN_TOKEN": adminToken, "USER": "tester"}
	var out, errOut bytes.Buffer
	root := cli.New(cli.Deps{Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &errOut,
		Serve: func() int { in.t.Error("reelay served"); return 1 }})
	root.SetArgs(args)
	code = cli.Execute(context.Background(), root)
	return code, out.String(), errOut.String()
}

// runReplay starts a replay of filter's dead letters and waits until it is done.
func (in *instance) runReplay(group string, filter map[string]any) map[string]any {
	in.t.Helper()
	r := in.mustAdmin(http.StatusAccepted, http.MethodPost, "/admin/v1/deadletters/"+group+"/replay", map[string]any{"filter": filter})
	id := r["replay"].(map[string]any)["id"].(string)
	var out map[string]any
	eventually(in.t, wait, func() error {
		out = in.mustAdmin(http.StatusOK, http.MethodGet, "/admin/v1/replays/"+id, nil)
		if out["status"] != "done" {
			return fmt.Errorf("replay %v", out)
		}
		return nil
	})
	return out
}

// TestReplayResumesAfterARestart: an instance stopped halfway through a
// replay releases it; the instance started again resumes it, and every
// replayed event is applied exactly once.
func TestReplayResumesAfterARestart(t *testing.T) {
	parallel(t)
	var broken atomic.Bool
	broken.Store(true)
	cfg := adminConfig(t)
	cfg.ReplayRate = 3 // records per second: the replay takes about 10 s
	in := start(t, cfg, poisonMovieStore(&broken))
	var movies []string
	for range 10 {
		m := uid("poison")
		movies = append(movies, m)
		for u := range 3 {
			in.mustAccept(http.MethodPost, "/api/v1/movies/"+m+"/views", map[string]any{"userId": fmt.Sprintf("u%d", u)})
		}
	}
	var refs []map[string]any
	eventually(t, wait, func() error {
		mine := in.deadLettersOf("movie-group", movies...)
		if len(mine) != 30 {
			return fmt.Errorf("%d dead letters", len(mine))
		}
		refs = refs[:0]
		for _, r := range mine {
			refs = append(refs, map[string]any{"partition": r.(map[string]any)["partition"], "offset": r.(map[string]any)["offset"]})
		}
		return nil
	})
	broken.Store(false)
	r := in.mustAdmin(http.StatusAccepted, http.MethodPost, "/admin/v1/deadletters/movie-group/replay", map[string]any{"filter": map[string]any{"records": refs}})
	id := r["replay"].(map[string]any)["id"].(string)
	var halfway map[string]any
	eventually(t, wait, func() error {
		halfway = in.mustAdmin(http.StatusOK, http.MethodGet, "/admin/v1/replays/"+id, nil)
		if n := halfway["published"].(float64); n < 3 {
			return fmt.Errorf("published %v", n)
		}
		return nil
	})
	in.stop()
	if halfway["status"] != "running" {
		t.Fatalf("the replay finished before the stop (%v); the test proves nothing", halfway)
	}
	again := start(t, cfg, poisonMovieStore(&broken))
	var done map[string]any
	eventually(t, wait, func() error {
		done = again.mustAdmin(http.StatusOK, http.MethodGet, "/admin/v1/replays/"+id, nil)
		if done["status"] != "done" {
			return fmt.Errorf("replay %v", done)
		}
		return nil
	})
	if done["published"].(float64) != 30 || done["total"].(float64) != 30 || done["failedAgain"].(float64) != 0 {
		t.Fatalf("replay %v", done)
	}
	eventually(t, wait, func() error {
		for _, m := range movies {
			if mg, an := again.views(m); mg != 3 || an != 3 {
				return fmt.Errorf("%s: movie-group %v, analytics %v; want 3 and 3", m, mg, an)
			}
		}
		return nil
	})
	t.Logf("stopped with at least %v of 30 published; resumed and finished after the restart", halfway["published"])
}

// TestAdminAPIRefusesTextNoDatabaseHolds: filters, reasons and names that
// are not UTF-8 text, or hold NUL, get a JSON 400 on both databases, never a
// 500; so do bad paths and bodies.
func TestAdminAPIRefusesTextNoDatabaseHolds(t *testing.T) {
	parallel(t)
	in := start(t, adminConfig(t))
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/admin/v1/deadletters/movie-group/records?handler=%ff", nil},
		{http.MethodGet, "/admin/v1/deadletters/movie-group/records?error=a%00b", nil},
		{http.MethodGet, "/admin/v1/deadletters/movie-group/records?limit=0", nil},
		{http.MethodGet, "/admin/v1/deadletters/movie-group/records?cursor=nope", nil},
		{http.MethodGet, "/admin/v1/deadletters/movie-group/records?status=lost", nil},
		{http.MethodGet, "/admin/v1/deadletters/movie-group/records/x/1", nil},
		{http.MethodPost, "/admin/v1/deadletters/movie-group/discard", map[string]any{"filter": map[string]any{"all": true}, "reason": "a\u0000b"}},
		{http.MethodPost, "/admin/v1/deadletters/movie-group/discard", map[string]any{"filter": map[string]any{"all": true}, "reason": " "}},
		{http.MethodPost, "/admin/v1/deadletters/movie-group/replay", map[string]any{"filter": map[string]any{}}},
		{http.MethodPost, "/admin/v1/deadletters/movie-group/replay", map[string]any{"filter": map[string]any{"error": "\u0000"}}},
		{http.MethodPost, "/admin/v1/deadletters/movie-group/replay", `{"filter":{"all":true},"extra":1}`},
	} {
		if code, body := in.admin(r.method, r.path, r.body); code != http.StatusBadRequest || body["error"] == nil {
			t.Errorf("%s %s %v: %d %v, want a JSON 400", r.method, r.path, r.body, code, body)
		}
	}
	if code, body := in.admin(http.MethodGet, "/admin/v1/deadletters/no-such-group/records", nil); code != http.StatusNotFound {
		t.Errorf("unknown group: %d %v", code, body)
	}
}
