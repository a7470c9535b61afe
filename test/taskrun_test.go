package test_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestTaskRunStopsOnCtrlC runs `go tool task run` as a developer does, in
// a process group of its own, and presses Ctrl-C (SIGINT to the group): the
// service drains, `go tool task run` exits 0, and nothing is left holding
// its ports.
func TestTaskRunStopsOnCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the service through go tool task")
	}
	parallel(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr, brokerAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command("go", "tool", "task", "run")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "REELAY_HTTP_ADDR="+httpAddr, "REELAY_EMBEDDED_KAFKA_ADDR="+brokerAddr,
		"REELAY_DATA_DIR="+t.TempDir(), "REELAY_KAFKA_BROKERS=", "REELAY_DATABASE_URL=", "REELAY_LOG_LEVEL=warn")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	eventually(t, 5*time.Minute, func() error {
		select {
		case err := <-done:
			t.Fatalf("go tool task run exited: %v\n%s", err, out.String())
		default:
		}
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("go tool task run after Ctrl-C: %v\n%s", err, out.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("still running a minute after Ctrl-C:\n%s", out.String())
	}
	eventually(t, 10*time.Second, func() error {
		if err := syscall.Kill(-cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("a process of the group is left: %v", err)
		}
		for _, addr := range []string{httpAddr, brokerAddr} {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				_ = c.Close()
				return fmt.Errorf("%s is still served", addr)
			}
		}
		return nil
	})
}
