package main

import (
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/backup"
)

func newRestoreCommand() *cobra.Command {
	var (
		p              projectFlags
		t              targetFlags
		from           string
		force          bool
		jsonOut, quiet bool
	)
	cmd := &cobra.Command{
		Use:   "restore --from DIR|s3://BUCKET/PREFIX",
		Short: "Restore a Worker's state from a backup (cairn backup)",
		Long: `Replaces the project's state directory (<persist-to>/<worker>) with a backup. Every
file is checked against the backup's manifest first; the new state is written beside the
old one, made durable and swapped in with one rename, so a crash leaves the old state or
the restored one. A state directory a running cairn holds is refused; one that holds
state is replaced only with --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			source, err := t.open(from)
			if err != nil {
				return err
			}
			cfg, persist, err := p.project(nil)
			if err != nil {
				return err
			}
			start := time.Now()
			m, err := backup.Restore(cmd.Context(), backup.RestoreOptions{Source: source, Dir: filepath.Join(persist, cfg.Name), Worker: cfg.Name, Force: force})
			if err != nil {
				return err
			}
			return report(cmd, m, jsonOut, quiet, "restored", filepath.Join(persist, cfg.Name), time.Since(start))
		},
	}
	p.addProject(cmd)
	t.add(cmd)
	cmd.Flags().StringVar(&from, "from", "", "directory or s3://bucket/prefix holding the backup")
	cmd.Flags().BoolVar(&force, "force", false, "replace a state directory that holds state")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the manifest as JSON")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing on success")
	cmd.MarkFlagRequired("from")
	return cmd
}
