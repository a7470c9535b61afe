package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reelay/reelay/cli"
)

// `reelay` without arguments serves, as it did before it had commands, and
// its exit status is serve's.
func TestNoArgumentsServe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		code int // serve's
	}{
		{"no arguments, clean stop", []string{}, 0},
		{"no arguments, start failed", []string{}, 1},
		{"no arguments, bad config value", []string{}, 2},
		{"serve", []string{"serve"}, 0},
		{"serve, start failed", []string{"serve"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			served := 0
			root := cli.New(cli.Deps{
				Getenv: func(string) string { return "" },
				Serve:  func() int { served++; return tc.code },
			})
			var out, errOut bytes.Buffer
			root.SetArgs(tc.args)
			root.SetOut(&out)
			root.SetErr(&errOut)
			if code := cli.Execute(context.Background(), root); code != tc.code {
				t.Errorf("exit status %d, want serve's %d", code, tc.code)
			}
			if served != 1 {
				t.Errorf("serve called %d times, want once", served)
			}
			// serve writes its own error line; the command line adds nothing.
			if out.Len() != 0 || errOut.Len() != 0 {
				t.Errorf("stdout %q, stderr %q: want nothing", out.String(), errOut.String())
			}
		})
	}
}

// The admin commands' flags do not configure serving: they are refused
// rather than ignored.
func TestServeRefusesAdminFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--url", "http://x"}, {"serve", "--json"}} {
		root := cli.New(cli.Deps{
			Getenv: func(string) string { return "" },
			Serve:  func() int { t.Errorf("%v: serve called", args); return 0 },
		})
		var errOut bytes.Buffer
		root.SetArgs(args)
		root.SetErr(&errOut)
		if code := cli.Execute(context.Background(), root); code != 2 {
			t.Errorf("%v: exit status %d, want 2", args, code)
		}
		if !strings.HasPrefix(errOut.String(), "reelay: --") {
			t.Errorf("%v: stderr %q", args, errOut.String())
		}
	}
}

func TestGlobalFlags(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrongFile, []byte("not-it"), 0o600); err != nil {
		t.Fatal(err)
	}
	runCases(t, []cliCase{
		{
			name:      "token from --token-file",
			args:      []string{"topics", "--token-file", tokenFile},
			env:       map[string]string{"REELAY_ADMIN_TOKEN": ""},
			wantCalls: []string{"GET /admin/v1/topics"},
			wantOut: lines(
				"TOPIC               KIND         PARTITIONS  REPLICATION",
				"movie-events        events       6           3",
				"movie-group.dlq     deadletters  6           3",
				"movie-group.replay  replay       1           3",
			),
		},
		{
			name:      "token from the file $REELAY_ADMIN_TOKEN_FILE names, as the server reads it",
			args:      []string{"dlq", "discard", "g", "--all", "--reason", "r"},
			env:       map[string]string{"REELAY_ADMIN_TOKEN": "", "REELAY_ADMIN_TOKEN_FILE": tokenFile},
			wantCalls: []string{"POST /admin/v1/deadletters/g/discard"},
			wantBody:  `{"filter":{"all":true},"reason":"r","by":"alice"}`,
			wantOut:   "discarded 3 records of g\n",
		},
		{
			name:      "$REELAY_ADMIN_TOKEN before $REELAY_ADMIN_TOKEN_FILE",
			args:      []string{"dlq", "discard", "g", "--all", "--reason", "r"},
			env:       map[string]string{"REELAY_ADMIN_TOKEN_FILE": wrongFile},
			wantCalls: []string{"POST /admin/v1/deadletters/g/discard"},
			wantBody:  `{"filter":{"all":true},"reason":"r","by":"alice"}`,
			wantOut:   "discarded 3 records of g\n",
		},
		{
			name:      "a wrong token: 401 in one line, the token not shown",
			args:      []string{"lag", "--token-file", wrongFile},
			wantAuth:  "Bearer not-it",
			wantCalls: []string{"GET /admin/v1/lag"},
			wantErr:   "reelay: unauthorized: missing or wrong admin token\n",
			wantCode:  1,
		},
		{
			name:      "no token: 401 says where one goes",
			args:      []string{"lag"},
			env:       map[string]string{"REELAY_ADMIN_TOKEN": ""},
			wantAuth:  "-",
			wantCalls: []string{"GET /admin/v1/lag"},
			wantErr:   "reelay: unauthorized: missing or wrong admin token (no token: set REELAY_ADMIN_TOKEN or --token-file)\n",
			wantCode:  1,
		},
		{
			name:      "admin API disabled on the server",
			args:      []string{"dlq", "ls"},
			overrides: map[string]answer{"GET /admin/v1/deadletters": {status: 403, body: `{"error":{"code":"admin_disabled","message":"set REELAY_ADMIN_TOKEN on the server"}}`}},
			wantCalls: []string{"GET /admin/v1/deadletters"},
			wantErr:   "reelay: admin_disabled: set REELAY_ADMIN_TOKEN on the server\n",
			wantCode:  1,
		},
		{
			name:      "an answer that is not the API's error",
			args:      []string{"topics"},
			overrides: map[string]answer{"GET /admin/v1/topics": {status: 502, body: "<html>\n<b>bad gateway</b>\n</html>"}},
			wantCalls: []string{"GET /admin/v1/topics"},
			wantErr:   "reelay: HTTP 502 Bad Gateway: <html> <b>bad gateway</b> </html>\n",
			wantCode:  1,
		},
		{
			name:      "a 200 that is not JSON",
			args:      []string{"topics"},
			overrides: map[string]answer{"GET /admin/v1/topics": {body: "ok"}},
			wantCalls: []string{"GET /admin/v1/topics"},
			wantErr:   "reelay: the answer is not the JSON expected: invalid character 'o' looking for beginning of value\n",
			wantCode:  1,
		},
		{
			name:      "--timeout bounds each request",
			args:      []string{"topics", "--timeout", "20ms"},
			overrides: map[string]answer{"GET /admin/v1/topics": {body: topicsJSON, delay: 500 * time.Millisecond}},
			wantCalls: []string{"GET /admin/v1/topics"},
			wantErr:   "reelay: Get \"{url}/admin/v1/topics\": context deadline exceeded (--timeout 20ms)\n",
			wantCode:  1,
		},
		{
			name:     "a token file that is not there",
			args:     []string{"topics", "--token-file", "/nonexistent/token"},
			wantErr:  lines("reelay: --token-file: open /nonexistent/token: no such file or directory", "Run 'reelay topics --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "a URL without scheme",
			args:     []string{"topics", "--url", "localhost:8080"},
			wantErr:  lines(`reelay: --url "localhost:8080": want http:// or https://`, "Run 'reelay topics --help' for usage."),
			wantCode: 2,
		},
		{
			name:     "unknown command",
			args:     []string{"replay"},
			wantErr:  lines(`reelay: unknown command "replay" for "reelay"`, "Run 'reelay --help' for usage."),
			wantCode: 2,
		},
	})
}

// --url wins over $REELAY_ADMIN_URL, and a path prefix is kept.
func TestURLFlag(t *testing.T) {
	t.Parallel()
	stub := &adminStub{overrides: map[string]answer{"GET /prefix/admin/v1/topics": {body: `{"topics":[]}`}}}
	srv := newServer(t, stub)
	env := map[string]string{"REELAY_ADMIN_URL": "http://127.0.0.1:1", "REELAY_ADMIN_TOKEN": token}
	out, errOut, code := execute(t, env, false, "topics", "--url", srv.URL+"/prefix/")
	if code != 0 || errOut != "" || out != "TOPIC  KIND  PARTITIONS  REPLICATION\n" {
		t.Fatalf("exit status %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// Without --url and $REELAY_ADMIN_URL the commands go to 127.0.0.1:8080.
func TestDefaultURL(t *testing.T) {
	t.Parallel()
	var got string
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		got = r.URL.String()
		rec := httptest.NewRecorder()
		rec.WriteString(`{"topics":[]}`)
		return rec.Result(), nil
	})}
	root := cli.New(cli.Deps{Getenv: func(string) string { return "" }, HTTPClient: client})
	root.SetArgs([]string{"topics"})
	root.SetOut(&bytes.Buffer{})
	if code := cli.Execute(context.Background(), root); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if got != "http://127.0.0.1:8080/admin/v1/topics" {
		t.Errorf("request to %s", got)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, errOut, code := execute(t, map[string]string{"REELAY_ADMIN_URL": url, "REELAY_ADMIN_TOKEN": token}, false, "lag")
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	want := "reelay: Get \"" + url + "/admin/v1/lag\": dial tcp "
	if !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 || strings.Contains(errOut, token) {
		t.Errorf("stderr %q, want one line starting %q", errOut, want)
	}
}

// The help names every exit status.
func TestHelpDocumentsExitStatus(t *testing.T) {
	t.Parallel()
	out, _, code := execute(t, nil, false, "--help")
	if code != 0 {
		t.Fatalf("exit status %d", code)
	}
	for _, want := range []string{"Exit status:", "0  success", "1  the request failed", "2  usage error", "3  attention"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}
