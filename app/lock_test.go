package app

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLockHeldByAnotherProcessThenKilled: a lock held by a live process is
// refused with its PID; once that process is killed with SIGKILL, the lock
// is taken over at once, with no file to delete by hand.
func TestLockHeldByAnotherProcessThenKilled(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	child.Env = append(os.Environ(), "ENTRAWIZ_TEST_LOCK_DIR="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "locked") {
		t.Fatalf("the child did not take the lock: %q %v", line, err)
	}

	_, err = tryLock(dir, "sync-x", "a sync of x", "entrawiz sync", time.Now())
	var busy *BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("lock held by a live process: %v, want a BusyError", err)
	}
	if busy.Holder == nil || busy.Holder.PID != child.Process.Pid || busy.Holder.Command != "entrawiz sync --every 5m" {
		t.Fatalf("holder %+v, want the child %d", busy.Holder, child.Process.Pid)
	}
	if !strings.Contains(busy.Error(), "process ") || busy.Remedy() == "" {
		t.Errorf("message %q says nothing of who holds it", busy.Error())
	}

	child.Process.Kill()
	child.Wait()
	l, err := tryLock(dir, "sync-x", "a sync of x", "entrawiz sync", time.Now())
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Release()
}

// TestHelperHoldLock is the child of the test above: it takes the lock and
// waits to be killed.
func TestHelperHoldLock(t *testing.T) {
	dir := os.Getenv("ENTRAWIZ_TEST_LOCK_DIR")
	if dir == "" {
		t.Skip("run by TestLockHeldByAnotherProcessThenKilled")
	}
	if _, err := tryLock(dir, "sync-x", "a sync of x", "entrawiz sync --every 5m", time.Now()); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	time.Sleep(time.Minute)
}
