package e2e

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// cairn backup and restore against an S3-compatible server (gofakes3, in
// the test), with the endpoint and credentials from the AWS variables.
func TestBackupS3(t *testing.T) {
	be := s3mem.New()
	if err := be.CreateBucket("cairn-backups"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(be).Server())
	defer s3srv.Close()
	env := append(os.Environ(), "AWS_ENDPOINT_URL="+s3srv.URL, "AWS_ACCESS_KEY_ID=k", "AWS_SECRET_ACCESS_KEY=s", "AWS_REGION=us-east-1")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(cairnBin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	proj := writeBackupProject(t)
	state := filepath.Join(t.TempDir(), "state")
	apiPort := freePort(t)
	d := startDev(t, proj, state, "--api-port", itoa(apiPort))
	d.expect("POST", "/o/a/write/1", 200, "ok")
	d.expect("POST", "/x/-/write/2", 200, "ok")
	if out, err := run("backup", "--remote", "http://127.0.0.1:"+itoa(apiPort), "--to", "s3://cairn-backups/nightly/1"); err != nil {
		t.Fatalf("backup to S3: %v\n%s", err, out)
	}
	d.Stop()
	if out, err := run("restore", "-c", proj, "--persist-to", filepath.Join(t.TempDir(), "x"), "--from", "s3://cairn-backups/nightly/2"); err == nil || !strings.Contains(out, "no manifest.json") {
		t.Errorf("restore from an empty prefix: %v %s", err, out)
	}
	restored := filepath.Join(t.TempDir(), "state")
	if out, err := run("restore", "-c", proj, "--persist-to", restored, "--from", "s3://cairn-backups/nightly/1"); err != nil {
		t.Fatalf("restore from S3: %v\n%s", err, out)
	}
	r := startDev(t, proj, restored)
	r.expect("GET", "/o/a/read", 200, "[1]")
	r.expect("GET", "/x/-/read", 200, `{"kv":[2],"d1":[2]}`)
}

func itoa(n int) string { return strconv.Itoa(n) }
