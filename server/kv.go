package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/jsrt"
	"github.com/cairn-dev/cairn/kv"
)

// KVNamespaceID is the id a kv_namespaces entry is stored under: its id,
// or its binding name when it has none (as wrangler dev does locally).
func KVNamespaceID(b config.KVNamespace) string {
	if b.ID != "" {
		return b.ID
	}
	return b.Binding
}

// KVHistoryName is the name of KV namespace id's history in a history store
// (commit.Histories).
func KVHistoryName(id string) string { return "kv/" + id }

// kvOptions returns the options of namespace id: durable through log, with
// its history in hs if hs is not nil.
func kvOptions(id, path string, durable commit.Log, hs *commit.Histories, log *slog.Logger) (kv.Options, error) {
	opts := kv.Options{Logger: log, Commit: durable}
	if hs != nil && durable != nil {
		rec, err := hs.Recorder(KVHistoryName(id), path)
		if err != nil {
			return opts, fmt.Errorf("history: %w", err)
		}
		opts.Recorder = rec
	}
	return opts, nil
}

// openKV opens the namespaces bound in cfg, keyed by binding name, each
// with its history in hs (nil: none).
func openKV(cfg *config.Config, persist string, durable commit.Log, hs *commit.Histories, log *slog.Logger) (map[string]*kv.Namespace, error) {
	out := make(map[string]*kv.Namespace, len(cfg.KVNamespaces))
	byID := make(map[string]*kv.Namespace)
	for _, b := range cfg.KVNamespaces {
		id := KVNamespaceID(b)
		if ns, ok := byID[id]; ok { // two bindings to one namespace share it
			out[b.Binding] = ns
			continue
		}
		path, err := kv.Path(persist, cfg.Name, id)
		var opts kv.Options
		if err == nil {
			opts, err = kvOptions(id, path, durable, hs, log)
		}
		if err == nil {
			var ns *kv.Namespace
			if ns, err = kv.Open(path, opts); err == nil {
				out[b.Binding], byID[id] = ns, ns
				continue
			}
		}
		closeEach(out)
		return nil, fmt.Errorf("kv_namespaces binding %s: %w", b.Binding, err)
	}
	return out, nil
}

// kvBindings adapts the namespaces to what the JS runtime binds.
func kvBindings(m map[string]*kv.Namespace) map[string]jsrt.KVNamespace {
	out := make(map[string]jsrt.KVNamespace, len(m))
	for b, ns := range m {
		out[b] = kvBinding{ns}
	}
	return out
}

// kvBinding is a *kv.Namespace as a jsrt.KVNamespace.
type kvBinding struct{ ns *kv.Namespace }

func (b kvBinding) Get(ctx context.Context, key string) (jsrt.KVEntry, bool, error) {
	e, ok, err := b.ns.Get(ctx, key)
	return jsrt.KVEntry{Value: e.Value, Metadata: string(e.Metadata)}, ok, err
}

func (b kvBinding) GetMany(ctx context.Context, keys []string) ([]jsrt.KVEntry, []bool, error) {
	es, found, err := b.ns.GetMany(ctx, keys)
	if err != nil {
		return nil, nil, err
	}
	out := make([]jsrt.KVEntry, len(es))
	for i, e := range es {
		out[i] = jsrt.KVEntry{Value: e.Value, Metadata: string(e.Metadata)}
	}
	return out, found, nil
}

func (b kvBinding) Put(ctx context.Context, key string, value []byte, opts jsrt.KVPutOptions) error {
	o := kv.PutOptions{Expiration: opts.Expiration, ExpirationTTL: opts.ExpirationTTL}
	if opts.Metadata != "" {
		o.Metadata = json.RawMessage(opts.Metadata)
	}
	return b.ns.Put(ctx, key, value, o)
}

func (b kvBinding) Delete(ctx context.Context, key string) error { return b.ns.Delete(ctx, key) }

func (b kvBinding) List(ctx context.Context, opts jsrt.KVListOptions) (jsrt.KVListResult, error) {
	res, err := b.ns.List(ctx, kv.ListOptions{Prefix: opts.Prefix, Limit: opts.Limit, Cursor: opts.Cursor})
	if err != nil {
		return jsrt.KVListResult{}, err
	}
	out := jsrt.KVListResult{Keys: make([]jsrt.KVKey, len(res.Keys)), Complete: res.Complete, Cursor: res.Cursor}
	for i, k := range res.Keys {
		out.Keys[i] = jsrt.KVKey{Name: k.Name, Expiration: k.Expiration, Metadata: string(k.Metadata)}
	}
	return out, nil
}

// closeEach closes each value of m once: two bindings may share one
// namespace or bucket.
func closeEach[T interface {
	comparable
	Close() error
}](m map[string]T) error {
	var errs []error
	seen := make(map[T]bool)
	for _, v := range m {
		if !seen[v] {
			seen[v] = true
			errs = append(errs, v.Close())
		}
	}
	return errors.Join(errs...)
}
