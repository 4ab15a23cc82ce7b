package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/cairn-dev/cairn/config"
)

// runBuild runs the config's build.command, as wrangler does before it
// bundles: with sh -c in build.cwd, its output to out. A project without
// one builds nothing. It returns the build config (nil without).
func runBuild(ctx context.Context, path string, out io.Writer) (*config.Build, error) {
	file, err := config.Find(path)
	if err != nil {
		return nil, err
	}
	b, err := config.LoadBuild(file)
	if err != nil || b == nil {
		return nil, err
	}
	start := time.Now()
	fmt.Fprintf(out, "Running custom build: %s\n", b.Command)
	cmd := exec.CommandContext(ctx, "sh", "-c", b.Command)
	cmd.Dir = b.Cwd
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return b, fmt.Errorf("custom build %q failed: %w", b.Command, err)
	}
	fmt.Fprintf(out, "Custom build done in %s\n", time.Since(start).Round(time.Millisecond))
	return b, nil
}
