package test_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestRestartKeepsEverything stops the app and starts it again on the same
// data dir: the embedded broker keeps topics, records and offsets, the
// database keeps the inbox, so nothing is re-applied and nothing is lost.
func TestRestartKeepsEverything(t *testing.T) {
	parallel(t)
	cfg := testConfig(t)
	in := start(t, cfg)
	movieID, user := uid("restart"), uid("u")
	in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"id": movieID, "title": "Memento"})
	for range 5 {
		in.mustAccept(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": user, "watchedSeconds": 10})
	}
	in.waitFor("/api/v1/analytics/movies/"+movieID, fields(map[string]any{"views": 5}))
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"views": 5}))
	in.stop()

	again := start(t, cfg)
	again.mustAccept(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": user, "watchedSeconds": 1})
	again.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"title": "Memento", "views": 6}))
	again.waitFor("/api/v1/analytics/movies/"+movieID, fields(map[string]any{"views": 6, "uniqueViewers": 1, "watchedSeconds": 51}))
	again.waitFor("/api/v1/analytics/users/"+user, fields(map[string]any{"views": 6}))
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds app/cmd/reelay once per test run.
func reelayBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reelay-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "reelay")
		out, err := exec.Command("go", "build", "-o", binPath, "../app/cmd/reelay").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// process is the reelay binary running as a child process.
type process struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit error, set before done closes
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine of exec.Cmd and readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func runBinary(t *testing.T, env []string) *process {
	t.Helper()
	cmd := exec.Command(reelayBinary(t))
	cmd.Env = append(os.Environ(), env...)
	p := &process{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// TestSIGTERMDrainsInFlightEvents sends SIGTERM to the binary while requests
// stream in, restarts it on the same data dir and expects every accepted
// event applied exactly once, and no refused one.
func TestSIGTERMDrainsInFlightEvents(t *testing.T) {
	parallel(t)
	cfg := testConfig(t)
	httpAddr := freeAddr(t)
	env := []string{
		"REELAY_HTTP_ADDR=" + httpAddr, "REELAY_DATA_DIR=" + cfg.DataDir, "REELAY_DATABASE_URL=" + cfg.DatabaseURL,
		"REELAY_EMBEDDED_KAFKA_ADDR=" + freeAddr(t), "REELAY_KAFKA_BROKERS=" + strings.Join(cfg.KafkaBrokers, ","),
		"REELAY_LOG_LEVEL=warn", "REELAY_SHUTDOWN_TIMEOUT=20s",
	}
	p := runBinary(t, env)
	in := &instance{t: t, base: "http://" + httpAddr, stopped: true}
	waitReady(t, in, p)

	movieIDs := []string{uid("a"), uid("b"), uid("c")}
	var accepted [3]atomic.Int64
	var sent atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m := (w + i) % len(movieIDs)
				sent.Add(1)
				code, _ := in.do(http.MethodPost, "/api/v1/movies/"+movieIDs[m]+"/views", map[string]any{"userId": fmt.Sprint("u", w)}, nil)
				switch code {
				case http.StatusAccepted:
					accepted[m].Add(1)
				case 0, http.StatusServiceUnavailable:
					// refused: the server is going away; nothing was accepted
				default:
					t.Errorf("unexpected status %d", code)
				}
			}
		}()
	}
	eventually(t, wait, func() error {
		if n := accepted[0].Load() + accepted[1].Load() + accepted[2].Load(); n < 150 {
			return fmt.Errorf("%d accepted so far", n)
		}
		return nil
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", p.err, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no exit within 60s of SIGTERM")
	}
	close(stop)
	wg.Wait()

	p2 := runBinary(t, env)
	waitReady(t, in, p2)
	total := int64(0)
	for i, id := range movieIDs {
		n := accepted[i].Load()
		total += n
		in.waitFor("/api/v1/movies/"+id, fields(map[string]any{"views": n}))
		in.waitFor("/api/v1/analytics/movies/"+id, fields(map[string]any{"views": n}))
	}
	t.Logf("sent %d, accepted %d, all applied exactly once after SIGTERM and restart", sent.Load(), total)
	_ = p2.cmd.Process.Signal(syscall.SIGTERM)
	<-p2.done
}

func waitReady(t *testing.T, in *instance, p *process) {
	t.Helper()
	eventually(t, 60*time.Second, func() error {
		select {
		case <-p.done:
			t.Fatalf("reelay exited: %v\n%s", p.err, p.stderr.String())
		default:
		}
		if code, body := in.do(http.MethodGet, "/readyz", nil, nil); code != http.StatusOK {
			return fmt.Errorf("readyz %d %v", code, body)
		}
		return nil
	})
}

// TestInvalidConfigStopsStartup: a bad value exits with status 2 and one
// line that names the variable. (A group name no consumer registers is
// judged once the graph is built: TestStartupFailuresEndInOneLine.)
func TestInvalidConfigStopsStartup(t *testing.T) {
	parallel(t)
	cases := []struct{ env, value string }{
		{"REELAY_TOPIC_PARTITIONS", "six"},
		{"REELAY_SHUTDOWN_TIMEOUT", "-3s"},
		{"REELAY_CONSUMER_GROUPS", "movie-group,bill ing"},
		{"REELAY_HTTP_ADDR", "nowhere"},
		{"REELAY_HTTP_ADDR", "127.0.0.1:99999"},
	}
	for _, tc := range cases {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			p := runBinary(t, []string{tc.env + "=" + tc.value, "REELAY_DATA_DIR=" + t.TempDir()})
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				t.Fatal("still running with an invalid config")
			}
			err := p.err
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("exit: %v", err)
			}
			out := strings.TrimRight(p.stderr.String(), "\n")
			if strings.Contains(out, "\n") || !strings.Contains(out, tc.env) || !strings.Contains(out, tc.value) {
				t.Fatalf("want one line naming %s: %q", tc.env, out)
			}
		})
	}
}

// TestStartupFailuresEndInOneLine starts the binary with one thing wrong at
// a time: each run exits non-zero within seconds, and its last line names
// the cause and the variable to change, after a handful of lines at most.
func TestStartupFailuresEndInOneLine(t *testing.T) {
	parallel(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })          // after the parallel subtests
	closed := freeAddr(t)                           // nothing listens there
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		var held []net.Conn
		for {
			c, err := silent.Accept()
			if err != nil {
				for _, c := range held {
					_ = c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	cases := []struct {
		name      string
		env       []string
		exit      int
		wantInEnd []string
	}{
		{"http port in use", []string{"REELAY_HTTP_ADDR=" + busy.Addr().String()}, 1,
			[]string{"reelay: cannot start:", "address already in use", "REELAY_HTTP_ADDR"}},
		{"group no consumer registers", []string{"REELAY_CONSUMER_GROUPS=movie-group,billing-group"}, 2,
			[]string{"REELAY_CONSUMER_GROUPS", "billing-group", "movie-group,notif-group"}},
		{"data dir not writable", []string{"REELAY_DATA_DIR=/proc/reelay"}, 1,
			[]string{"reelay: cannot start:", "/proc/reelay", "REELAY_DATA_DIR"}},
		{"database unreachable", []string{"REELAY_DATABASE_URL=postgres://reelay:secret@" + closed + "/reelay"}, 1,
			[]string{"reelay: cannot start:", "connection refused", "REELAY_DATABASE_URL"}},
		{"broker unreachable, retried for REELAY_KAFKA_CONNECT_TIMEOUT", []string{"REELAY_KAFKA_BROKERS=" + closed, "REELAY_KAFKA_CONNECT_TIMEOUT=2s"}, 1,
			[]string{"reelay: cannot start:", "connection refused", "REELAY_KAFKA_BROKERS"}},
		{"broker that never answers", []string{"REELAY_KAFKA_BROKERS=" + silent.Addr().String(), "REELAY_KAFKA_CONNECT_TIMEOUT=3s"}, 1,
			[]string{"reelay: cannot start:", "no broker answered within 3s", "REELAY_KAFKA_BROKERS"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := append([]string{"REELAY_HTTP_ADDR=127.0.0.1:0", "REELAY_EMBEDDED_KAFKA_ADDR=127.0.0.1:0",
				"REELAY_DATA_DIR=" + t.TempDir(), "REELAY_KAFKA_BROKERS=", "REELAY_DATABASE_URL="}, tc.env...)
			p := runBinary(t, env)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				t.Fatalf("still running after 30 s:\n%s", p.stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
			last := lines[len(lines)-1]
			if code := p.cmd.ProcessState.ExitCode(); code != tc.exit {
				t.Fatalf("exit %d, want %d; last line %q", code, tc.exit, last)
			}
			for _, want := range tc.wantInEnd {
				if !strings.Contains(last, want) {
					t.Fatalf("last line %q lacks %q", last, want)
				}
			}
			if strings.Contains(tc.name, "retried") && !strings.Contains(p.stderr.String(), "kafka not reachable yet; retrying") {
				t.Fatalf("no retry logged:\n%s", p.stderr.String())
			}
			if strings.Contains(p.stderr.String(), "secret") || len(lines) > 6 {
				t.Fatalf("%d lines (or the password shown):\n%s", len(lines), p.stderr.String())
			}
		})
	}
}
