package test_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/fx"

	"github.com/reelay/reelay/app"
	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/ui"
)

// browser starts headless Chromium (Debian's chromium on PATH) for a test
// and collects what its pages write to the console as errors. It needs
// REELAY_TEST_BROWSER=1 (go tool task test:ui sets it); with it and no
// chromium, the test fails and says how to install it.
func browser(t *testing.T) (ctx context.Context, consoleErrors func() []string) {
	t.Helper()
	if os.Getenv("REELAY_TEST_BROWSER") != "1" {
		t.Skip("browser test: run it with REELAY_TEST_BROWSER=1, or go tool task test:ui")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not on PATH (%v): install it with `apt-get update && apt-get install -y chromium` (Debian), as .ci/run does", err)
	}
	deadline, cancelDeadline := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancelDeadline)
	alloc, cancelAlloc := chromedp.NewExecAllocator(deadline, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.Flag("headless", "new"), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1440, 1000))...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	var (
		mu   sync.Mutex
		errs []string
	)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// waitPage polls a JavaScript predicate on the page until it is true,
// failing with what and the text of the element named by show.
func waitPage(t *testing.T, ctx context.Context, within time.Duration, what, predicate, show string) {
	t.Helper()
	pollCtx, cancel := context.WithTimeout(ctx, within+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(pollCtx, chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(within), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {innerText: "(absent)"}).innerText`, show)))
		t.Fatalf("%s: not within %s (%v); %s shows:\n%s", what, within, err, show, text)
	}
}

// do runs browser actions within wait.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// click clicks the first element that selector names in one step of the
// page's own script: an element of a fragment that refreshes every two
// seconds may be replaced between finding it and a mouse click on it.
func click(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(e => { if (!e) return false; e.click(); return true; })(document.querySelector(%q))`, selector)))
	if err != nil || !ok {
		t.Fatalf("click %s: found %v, %v", selector, ok, err)
	}
}

// TestUIOperationsPage drives the operations page in headless Chromium
// against an instance on the embedded broker: the login with the admin
// token; a view posted over HTTP shows in recent events (its detail too)
// and in the flow counters; a view movie-group's handler fails for shows
// under dead letters, its record in full; after the fix, "Replay all"
// shows the replay's progress, the depth goes to 0 and the read model
// counts the view once; a handler that blocks shows its partition stuck,
// highlighted, in the lag table. No page writes an error to the console.
// A screenshot goes to $REELAY_SCREENSHOT_DIR (a temp dir by default).
func TestUIOperationsPage(t *testing.T) {
	ctx, consoleErrors := browser(t)
	began := time.Now()

	blockGroup := uid("blocker-group")
	release := make(chan struct{})
	blocker := blockingConsumer(blockGroup, release)
	var broken atomic.Bool
	broken.Store(true)
	cfg := adminConfig(t)
	cfg.StuckAfter = 2 * time.Second
	in := start(t, cfg, poisonMovieStore(&broken), fx.Provide(app.AsConsumer(blocker)))
	defer close(release) // before the instance stops
	stuckPartition := in.produce(events.TopicMovieEvents, uid("stuck"), []byte(`{}`), map[string]string{
		events.HeaderSpecVersion: events.SpecVersion, events.HeaderID: uid("e"), events.HeaderSource: "test",
		events.HeaderType: blockType, events.HeaderContentType: events.ContentTypeJSON})

	// Log in with the admin token.
	do(t, ctx, "login",
		chromedp.Navigate(in.base+"/ui"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), adminToken),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#flow")),
	)
	waitPage(t, ctx, wait, "the lag table and dead letters load",
		`document.querySelector('[data-dl-group="movie-group"] .depth')?.innerText === "0" && !!document.querySelector('#lag-table table')`, "main")

	// A view posted over HTTP shows in recent events and in the flow.
	movieID, corr := uid("ui"), uid("corr")
	code, out := in.do(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": "u1"}, map[string]string{"X-Correlation-ID": corr})
	if code != http.StatusAccepted {
		t.Fatalf("view: %d %v", code, out)
	}
	eventID := out.(map[string]any)["eventId"].(string)
	row := fmt.Sprintf(`#recent-table tr[data-key=%q][data-group="movie-group"]`, movieID)
	waitPage(t, ctx, wait, "the view in recent events", fmt.Sprintf(
		`(r => !!r && r.innerText.includes("movie.viewed") && r.innerText.includes(%q) && r.innerText.includes("applied"))(document.querySelector(%q))`,
		corr, row), "#recent-table")
	waitPage(t, ctx, wait, "the view in the flow counters",
		`document.querySelector('[data-published="movie-views"]')?.innerText === "1" && document.querySelector('[data-applied-handler="movie:movie-views"]')?.innerText === "1"`,
		"#flow-counts")
	click(t, ctx, row+" td")
	waitPage(t, ctx, wait, "the event's detail", fmt.Sprintf(
		`(d => d.includes(%q) && d.includes(%q) && d.includes("tracing is off"))(document.querySelector("#detail").innerText)`, eventID, corr), "#detail")
	do(t, ctx, "close the detail", chromedp.Click(chromedp.CSS("#detail [data-close]")), chromedp.WaitNotVisible(chromedp.CSS("#detail")))

	// A view movie-group fails for is dead-lettered and shows, in full.
	poisonID := uid("poison")
	in.mustAccept(http.MethodPost, "/api/v1/movies/"+poisonID+"/views", map[string]any{"userId": "u1"})
	waitPage(t, ctx, wait, "movie-group's depth 1",
		`document.querySelector('[data-dl-group="movie-group"] .depth')?.innerText === "1"`, "#dl-summary")
	click(t, ctx, `[data-dl-group="movie-group"] button`)
	waitPage(t, ctx, wait, "the dead letter listed", fmt.Sprintf(
		`(r => !!r && r.innerText.includes(%q) && r.innerText.includes("movie:movie-views") && r.innerText.includes("pending"))(document.querySelector("#dl-records tr[data-record]"))`,
		poisonID), "#dl-panel")
	click(t, ctx, "#dl-records tr[data-record] td:nth-child(2)")
	waitPage(t, ctx, wait, "the dead letter in full", fmt.Sprintf(
		`(d => d.includes("dead letter movie-group") && d.includes(%q) && d.includes(%q) && d.includes("movie-views partition"))(document.querySelector("#detail").innerText)`,
		errPoisoned.Error(), poisonID), "#detail")
	do(t, ctx, "close the detail", chromedp.Click(chromedp.CSS("#detail [data-close]")), chromedp.WaitNotVisible(chromedp.CSS("#detail")))

	// Fixed: replay all; the progress shows, the depth goes to 0, the view counts once.
	broken.Store(false)
	do(t, ctx, "replay all", chromedp.Click(chromedp.CSS("#replay-all")))
	waitPage(t, ctx, wait, "the replay's progress", `!!document.querySelector("#dl-progress [data-replay]")`, "#dl-progress")
	waitPage(t, ctx, wait, "the replay done", `(r => !!r && r.innerText.includes("1/1 published, 0 skipped, 0 dead-lettered again"))(document.querySelector('#dl-progress [data-status="done"]'))`, "#dl-progress")
	waitPage(t, ctx, wait, "movie-group's depth 0 and no pending record listed",
		`document.querySelector('[data-dl-group="movie-group"] .depth')?.innerText === "0" && !document.querySelector("#dl-records tr[data-record]")`, "#deadletters")
	eventually(t, wait, func() error {
		if mg, an := in.views(poisonID); mg != 1 || an != 1 {
			return fmt.Errorf("views of %s: movie-group %v, analytics-group %v; want 1 and 1", poisonID, mg, an)
		}
		return nil
	})

	// The blocked partition shows stuck, highlighted.
	stuckRow := fmt.Sprintf(`#lag-table tr.stuck[data-lag-group=%q][data-topic=%q][data-partition="%d"]`, blockGroup, events.TopicMovieEvents, stuckPartition)
	waitPage(t, ctx, cfg.StuckAfter+wait, "the stuck partition", fmt.Sprintf(
		`(r => !!r && r.innerText.includes("STUCK") && getComputedStyle(r.cells[1]).backgroundColor === "rgb(254, 226, 226)")(document.querySelector(%q))`, stuckRow), "#lag-table")

	// The charts drew; the screenshot; no console errors.
	waitPage(t, ctx, wait, "the charts", `document.querySelectorAll("#chart-published canvas, #chart-applied canvas").length === 2`, "#flow")
	if status, _ := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#status"), "class")); strings.Contains(status.Value, "error") {
		text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#status")))
		t.Errorf("the status line shows an error: %s", text)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("REELAY_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "ops-page.png")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Fatalf("the page wrote errors to the console:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("browser scenario took %.1fs; screenshot %s", time.Since(began).Seconds(), shot)
}

// TestUIAccess: without a token configured the page is disabled (403, as
// the admin API); with one, the page shows a login form, a wrong token is
// refused (401), the right one starts a session cookie (HttpOnly,
// SameSite=Strict, Path /ui) that fragments need; a state-changing request
// without htmx's header, or from another origin, is refused even with the
// cookie; a cookie made with another token is worth nothing.
func TestUIAccess(t *testing.T) {
	parallel(t)
	off := start(t, testConfig(t))
	on := start(t, adminConfig(t))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, url, body string, headers map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw)
	}

	for _, path := range []string{"/ui/", "/ui/parts/lag", "/ui/static/app.js"} {
		if resp, body := send(http.MethodGet, off.base+path, "", nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "disabled") {
			t.Errorf("no token configured: GET %s: %d", path, resp.StatusCode)
		}
	}
	if resp, body := send(http.MethodGet, on.base+"/ui/", "", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="token"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("GET /ui/ without a session: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	if resp, _ := send(http.MethodGet, on.base+"/ui/parts/lag", "", nil); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("HX-Redirect") != "/ui/" {
		t.Fatalf("a fragment without a session: %d", resp.StatusCode)
	}
	if resp, _ := send(http.MethodPost, on.base+"/ui/login", "token="+adminToken+"x", nil); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("a wrong token: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	resp, _ := send(http.MethodPost, on.base+"/ui/login", "token="+adminToken, nil)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	c := resp.Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/ui" || strings.Contains(c.Value, adminToken) {
		t.Fatalf("session cookie %+v", c)
	}
	session := map[string]string{"Cookie": c.String()}
	if resp, body := send(http.MethodGet, on.base+"/ui/parts/lag", "", session); resp.StatusCode != http.StatusOK || !strings.Contains(body, "movie-group") {
		t.Fatalf("a fragment with the session: %d %s", resp.StatusCode, body)
	}
	replay := "group=movie-group&mode=all"
	for name, h := range map[string]map[string]string{
		"no HX-Request":     {"Cookie": c.String()},
		"another origin":    {"Cookie": c.String(), "HX-Request": "true", "Origin": "https://evil.example"},
		"another site":      {"Cookie": c.String(), "HX-Request": "true", "Sec-Fetch-Site": "cross-site"},
		"no session":        {"HX-Request": "true"},
		"another's session": {"Cookie": sessionCookieOf(t, "another-token-0123456789"), "HX-Request": "true"},
	} {
		if resp, _ := send(http.MethodPost, on.base+"/ui/actions/replay", replay, h); resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: replay answered %d", name, resp.StatusCode)
		}
	}
	h := map[string]string{"Cookie": c.String(), "HX-Request": "true", "Origin": on.base, "Sec-Fetch-Site": "same-origin"}
	if resp, body := send(http.MethodPost, on.base+"/ui/actions/replay", replay, h); resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-status="done"`) {
		t.Fatalf("replay from the page: %d %s", resp.StatusCode, body)
	}
	if _, body := send(http.MethodPost, on.base+"/ui/actions/discard", replay, h); !strings.Contains(body, "a discard needs a reason") {
		t.Fatalf("discard without a reason: %s", body)
	}
	h["HX-Prompt"] = "duplicates"
	if _, body := send(http.MethodPost, on.base+"/ui/actions/discard", replay, h); !strings.Contains(body, "discarded 0 records of movie-group") {
		t.Fatalf("discard: %s", body)
	}
	// An admin API error shows as a message where the fragment would be.
	if resp, body := send(http.MethodGet, on.base+"/ui/parts/records?group=no-such-group", "", session); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `class="error"`) || !strings.Contains(body, "GET /admin/v1/deadletters/no-such-group/records answered 4") {
		t.Fatalf("records of an unknown group: %d %s", resp.StatusCode, body)
	}
}

// sessionCookieOf is the session cookie a page whose admin token is token
// gives.
func sessionCookieOf(t *testing.T, token string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/ui/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ui.New(ui.Config{Token: token, API: http.NotFoundHandler()}).ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login at a page with another token: %d", rec.Code)
	}
	return cookies[0].String()
}
