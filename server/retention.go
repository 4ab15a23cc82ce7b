package server

import (
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/config"
)

// Retentions says how long the history of each database of a state
// directory is kept: what the config's history_retention keys set for a D1
// database, a KV namespace or a Durable Object class, and Default (the
// --history-retention flag, else DefaultHistoryRetention) for the rest,
// the alarm index among them.
type Retentions struct {
	Default time.Duration
	byName  map[string]time.Duration // by history name: "d1/<id>", "kv/<id>"
	byClass map[string]time.Duration // by class: its objects' histories
}

// RetentionsOf returns the retentions cfg sets, with def for the rest
// (DefaultHistoryRetention if ≤ 0).
func RetentionsOf(cfg *config.Config, def time.Duration) Retentions {
	if def <= 0 {
		def = DefaultHistoryRetention
	}
	r := Retentions{Default: def, byName: map[string]time.Duration{}, byClass: map[string]time.Duration{}}
	if cfg == nil {
		return r
	}
	for _, b := range cfg.D1Databases {
		if b.HistoryRetention > 0 {
			r.byName["d1/"+D1ID(b)] = b.HistoryRetention
		}
	}
	for _, b := range cfg.KVNamespaces {
		if b.HistoryRetention > 0 {
			r.byName[KVHistoryName(KVNamespaceID(b))] = b.HistoryRetention
		}
	}
	for _, b := range cfg.DurableObjects {
		if b.HistoryRetention > 0 && b.ScriptName == "" {
			r.byClass[b.ClassName] = b.HistoryRetention
		}
	}
	return r
}

// For returns the retention of the history name.
func (r Retentions) For(name string) time.Duration {
	if d, ok := r.byName[name]; ok {
		return d
	}
	if rest, ok := strings.CutPrefix(name, "objects/"); ok { // objects/<class>/<id>
		if class, _, ok := strings.Cut(rest, "/"); ok {
			if d, ok := r.byClass[class]; ok {
				return d
			}
		}
	}
	return r.Default
}

// merge returns r with what o sets added (o's win): the account's store
// takes the retentions of every Worker that binds its databases.
func (r Retentions) merge(o Retentions) Retentions {
	out := Retentions{Default: r.Default, byName: map[string]time.Duration{}, byClass: map[string]time.Duration{}}
	for _, m := range []map[string]time.Duration{r.byName, o.byName} {
		maps.Copy(out.byName, m)
	}
	for _, m := range []map[string]time.Duration{r.byClass, o.byClass} {
		maps.Copy(out.byClass, m)
	}
	return out
}

// options returns r as a history store's options.
func (r Retentions) options(log *slog.Logger) func(string) commit.HistoryOptions {
	return func(name string) commit.HistoryOptions {
		return commit.HistoryOptions{Retention: r.For(name), Logger: log}
	}
}
