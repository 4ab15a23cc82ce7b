package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/backup"
	"github.com/cairn-dev/cairn/backup/file"
	"github.com/cairn-dev/cairn/backup/s3"
	"github.com/cairn-dev/cairn/server"
)

// targetFlags choose where a backup goes or comes from.
type targetFlags struct {
	endpoint string
	region   string
}

func (f *targetFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.endpoint, "endpoint", "", "S3-compatible server for s3:// locations (default $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS)")
	cmd.Flags().StringVar(&f.region, "region", "", "S3 region (default $AWS_REGION, $AWS_DEFAULT_REGION)")
}

// open returns the Target for a location: a directory, or s3://bucket/prefix
// (credentials from $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY, $AWS_SESSION_TOKEN).
func (f *targetFlags) open(loc string) (backup.Target, error) {
	if loc == "" {
		return nil, fmt.Errorf("no backup location: give a directory or s3://bucket/prefix")
	}
	if !strings.HasPrefix(loc, "s3://") {
		if strings.Contains(loc, "://") {
			return nil, fmt.Errorf("backup location %q: want a directory or s3://bucket/prefix", loc)
		}
		return file.New(loc), nil
	}
	c, err := s3.ParseURL(loc)
	if err != nil {
		return nil, err
	}
	c.Endpoint, c.Region = f.endpoint, f.region
	c.FromEnv()
	return s3.New(c)
}

func newBackupCommand() *cobra.Command {
	var (
		p              projectFlags
		t              targetFlags
		to             string
		remote, token  string
		jsonOut, quiet bool
	)
	cmd := &cobra.Command{
		Use:   "backup --to DIR|s3://BUCKET/PREFIX",
		Short: "Back up a Worker's state: Durable Objects, D1, KV, R2, alarms and catalog",
		Long: `Copies the project's state directory (<persist-to>/<worker>) to a directory or an
S3-compatible bucket, with a manifest (every file's size and sha256) written last.

Without --remote it reads the files directly: with no server running the backup is
exact; beside a running cairn each database is a committed state holding every write
acknowledged before the backup started. With --remote URL (the admin API of a running
cairn, cairn dev --api-port) the server takes it with acknowledgements held back, so
the databases are cut at one moment.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := t.open(to)
			if err != nil {
				return err
			}
			start := time.Now()
			var m *backup.Manifest
			if remote != "" {
				m, err = remoteBackup(cmd.Context(), remote, token, target)
			} else {
				cfg, persist, perr := p.project(nil)
				if perr != nil {
					return perr
				}
				m, err = backup.Snapshot(cmd.Context(), backup.SnapshotOptions{Dir: filepath.Join(persist, cfg.Name), Worker: cfg.Name, Target: target})
			}
			if err != nil {
				return err
			}
			return report(cmd, m, jsonOut, quiet, "backed up", to, time.Since(start))
		},
	}
	p.addProject(cmd)
	t.add(cmd)
	cmd.Flags().StringVar(&to, "to", "", "directory or s3://bucket/prefix to write the backup to (must not hold one)")
	cmd.Flags().StringVar(&remote, "remote", "", "admin API of a running cairn, e.g. http://127.0.0.1:8788: the server takes the backup")
	cmd.Flags().StringVar(&token, "api-token", "", "bearer token for --remote (default $CAIRN_API_TOKEN)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the manifest as JSON")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing on success")
	cmd.MarkFlagRequired("to")
	return cmd
}

// report prints what a backup or restore did.
func report(cmd *cobra.Command, m *backup.Manifest, jsonOut, quiet bool, verb, where string, took time.Duration) error {
	switch {
	case jsonOut:
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	case quiet:
		return nil
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s Worker %q (%s, %d files, %d bytes, taken %s) %s %s\n",
		verb, m.Worker, m.Consistency, len(m.Files), m.Bytes(), m.Created.Format(time.RFC3339), prep(verb), where)
	fmt.Fprintf(cmd.OutOrStdout(), "took %s\n", took.Round(time.Millisecond))
	return nil
}

func prep(verb string) string {
	if verb == "restored" {
		return "into"
	}
	return "to"
}

// remoteBackup asks a running cairn for a backup and writes the stream to
// target, checking it against its manifest.
func remoteBackup(ctx context.Context, base, token string, target backup.Target) (*backup.Manifest, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--remote %q: want the admin API's URL, e.g. http://127.0.0.1:8788", base)
	}
	if token == "" {
		token = os.Getenv("CAIRN_API_TOKEN")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(u.String(), "/")+"/client/v4/cairn/backup", nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-tar" {
		var env struct {
			Errors []server.APIError `json:"errors"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&env)
		msgs := []string{resp.Status}
		for _, e := range env.Errors {
			msgs = append(msgs, e.Message)
		}
		return nil, fmt.Errorf("backup: the server answered %s", strings.Join(msgs, ": "))
	}
	// The target must not hold a backup already: the stream would mix with it.
	if rc, err := target.Get(ctx, backup.ManifestName); err == nil {
		rc.Close()
		return nil, fmt.Errorf("backup: %w", backup.ErrTargetUsed)
	}
	return backup.ReadTar(ctx, resp.Body, target)
}
