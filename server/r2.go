package server

import (
	"cmp"
	"fmt"
	"log/slog"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/jsrt"
	"github.com/cairn-dev/cairn/r2"
)

// R2BucketName is the name an r2_buckets entry is stored under: its
// bucket_name, or its binding name when it has none.
func R2BucketName(b config.R2Bucket) string { return cmp.Or(b.BucketName, b.Binding) }

// openR2 opens the buckets bound in cfg, keyed by binding name; two
// bindings to one bucket share it.
func openR2(cfg *config.Config, persist string, durable commit.Log, log *slog.Logger) (map[string]*r2.Bucket, error) {
	out := make(map[string]*r2.Bucket, len(cfg.R2Buckets))
	byName := make(map[string]*r2.Bucket)
	for _, b := range cfg.R2Buckets {
		name := R2BucketName(b)
		if bk, ok := byName[name]; ok {
			out[b.Binding] = bk
			continue
		}
		path, err := r2.Path(persist, cfg.Name, name)
		if err == nil {
			var bk *r2.Bucket
			if bk, err = r2.Open(path, r2.Options{Logger: log, Commit: durable, MaxObjectSize: jsrt.MaxBodySize}); err == nil {
				out[b.Binding], byName[name] = bk, bk
				continue
			}
		}
		closeEach(out)
		return nil, fmt.Errorf("r2_buckets binding %s: %w", b.Binding, err)
	}
	return out, nil
}

// r2Bindings adapts the buckets to what the JS runtime binds.
func r2Bindings(m map[string]*r2.Bucket) map[string]jsrt.R2Bucket {
	out := make(map[string]jsrt.R2Bucket, len(m))
	for b, bk := range m {
		out[b] = bk
	}
	return out
}
