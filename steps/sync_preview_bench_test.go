package steps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
)

// previewChildEnv carries a preview's childJob to TestSyncPreviewChild.
const previewChildEnv = "ENTRAWIZ_SYNC_PREVIEW_CHILD"

// TestSyncPreviewChild is the child half of BenchmarkSyncPreview100k: a
// full preview of the group over the database in the job's folder. It does
// nothing in a normal test run.
func TestSyncPreviewChild(t *testing.T) {
	raw := os.Getenv(previewChildEnv)
	if raw == "" {
		t.Skip("only run by the preview benchmark")
	}
	var job childJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		t.Fatal(err)
	}
	res := func() childResult {
		fail := func(err error) childResult { return childResult{Error: err.Error()} }
		sess, db, err := openChild(job)
		if err != nil {
			return fail(err)
		}
		defer db.Close()
		start := time.Now()
		res, err := steps.SyncUsers(context.Background(), steps.SyncOptions{Graph: sess.Graph, DB: db, Groups: []string{job.Group},
			Full: true, DryRun: true})
		if err != nil {
			return fail(err)
		}
		return childResult{Users: res.Users, Created: res.Plan.Created + res.Plan.Updated + res.Plan.Disabled,
			Seconds: time.Since(start).Seconds(), HWMKB: vmHWM()}
	}()
	b, _ := json.Marshal(res)
	fmt.Println("RESULT " + string(b))
}

// BenchmarkSyncPreview100k previews a full run of the 100k-member group
// over a database a real run filled, in a child process: the preview's
// own staging (a temporary database with a copy of the directory) costs
// time and memory the real run does not have. Run with -benchtime=1x.
func BenchmarkSyncPreview100k(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	h := newSyncTenant(b, sim.Options{Users: 100000, Groups: 500})
	all := h.group(b, "All Users")
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		full := syncInChild(b, h, "full", all, dir)
		b.ReportMetric(full.Seconds, "full-s")
		b.ReportMetric(float64(full.HWMKB)/1024, "full-peak-RSS-MB")
		for k := 0; k < 10; k++ {
			must2(b, h.RenameUser(genUser(h, 1000+k), fmt.Sprintf("Renamed %d", k)))
		}
		job, _ := json.Marshal(childJob{Info: h.Info(), AppID: h.appID, Secret: h.secret, Group: all, Dir: dir})
		cmd := exec.Command(os.Args[0], "-test.run=^TestSyncPreviewChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), previewChildEnv+"="+string(job))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			b.Fatalf("child: %v\n%s", err, out.String())
		}
		var res childResult
		for _, line := range strings.Split(out.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
				must2(b, json.Unmarshal([]byte(rest), &res))
			}
		}
		if res.Error != "" || res.Users < 100000 || res.Created != 10 {
			b.Fatalf("preview: %+v\n%s", res, out.String())
		}
		b.ReportMetric(res.Seconds, "preview-s")
		b.ReportMetric(float64(res.HWMKB)/1024, "preview-peak-RSS-MB")
	}
}
