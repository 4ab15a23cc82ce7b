package server

import (
	"cmp"
	"context"
	"errors"
	"os"
	"slices"
	"time"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/jsrt"
	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/r2"
	"github.com/cairn-dev/cairn/sockets"
)

// Observer is told about the requests a Server serves and hands out the
// observers of each App's parts, for metrics (package metrics implements
// it). Its methods must be safe for concurrent use and must not block.
type Observer interface {
	// Request reports a request answered: the Worker that served it
	// (Config.Name), the route pattern a router matched (see WithRoute;
	// "" without),
	// its status (499: the client went away first), its latency until the
	// response was complete, and the running time of its code (see
	// jsrt.CPUTime).
	Request(worker, route string, status int, took, cpu time.Duration)
	// Worker returns the observers of one Worker's parts; Load calls it.
	Worker(name string) WorkerObservers
}

type routeKey struct{}

// WithRoute returns ctx naming the route pattern a router matched for the
// request (as written in the config, e.g. "example.com/api/*"): Server
// reports it to its Observer. Never the raw path, which would make a
// series per URL.
func WithRoute(ctx context.Context, pattern string) context.Context {
	return context.WithValue(ctx, routeKey{}, pattern)
}

// routeOf returns the pattern WithRoute put in ctx, or "".
func routeOf(ctx context.Context) string {
	p, _ := ctx.Value(routeKey{}).(string)
	return p
}

// WorkerObservers are the observers Load gives the parts of an App; a nil
// one is not set.
type WorkerObservers struct {
	Commit  commit.Observer
	Objects objects.Observer
	JS      jsrt.Observer
	Sockets sockets.Observer
}

// Gauges is what an App holds now, for metrics read at scrape time.
type Gauges struct {
	LiveObjects       int // Durable Objects in memory
	HibernatedObjects int // not in memory, but keeping hibernatable WebSockets open
	WebSockets        int // WebSockets connected
}

// Gauges returns what a holds now.
func (a *App) Gauges() Gauges {
	live, hib := a.Host.Counts()
	return Gauges{LiveObjects: live, HibernatedObjects: hib, WebSockets: a.Worker.Sockets().Open()}
}

// Storage kinds of StorageUsage.
const (
	StorageObjects = "durable_object" // a Durable Object namespace (class): all its objects
	StorageD1      = "d1"             // a D1 database
	StorageKV      = "kv"             // a Workers KV namespace
	StorageR2      = "r2"             // an R2 bucket
)

// StorageUsage is the size on disk of one namespace, database or bucket.
type StorageUsage struct {
	Kind  string // StorageObjects, StorageD1, StorageKV or StorageR2
	Name  string // class, database name, namespace title (else id) or bucket name
	Bytes int64  // database and write-ahead log files
}

// StorageUsage returns the bytes on disk of each Durable Object namespace,
// D1 database, KV namespace and R2 bucket of a. It reads directories (every
// object's file), so callers cache it rather than call it per request.
func (a *App) StorageUsage() ([]StorageUsage, error) {
	var out []StorageUsage
	var errs []error
	var classes []string
	for _, b := range a.Config.DurableObjects {
		if !slices.Contains(classes, b.ClassName) {
			classes = append(classes, b.ClassName)
		}
	}
	slices.Sort(classes)
	for _, class := range classes {
		list, err := a.Host.Objects(class)
		var uc *objects.UnknownClassError
		if errors.As(err, &uc) {
			continue // bound, but no migration made it: nothing stored
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		var n int64
		for _, o := range list {
			n += o.Size
		}
		out = append(out, StorageUsage{Kind: StorageObjects, Name: class, Bytes: n})
	}
	if dbs, err := a.D1.List(); err != nil {
		errs = append(errs, err)
	} else {
		for _, db := range dbs {
			out = append(out, StorageUsage{Kind: StorageD1, Name: db.Name, Bytes: db.FileSize})
		}
	}
	if nss, err := a.KVAll.List(); err != nil {
		errs = append(errs, err)
	} else {
		for _, ns := range nss {
			if path, err := a.KVAll.Path(ns.ID); err == nil {
				out = append(out, StorageUsage{Kind: StorageKV, Name: cmp.Or(ns.Title, ns.ID), Bytes: fileBytes(path)})
			}
		}
	}
	seen := map[string]bool{}
	for _, b := range a.Config.R2Buckets {
		name := R2BucketName(b)
		if seen[name] {
			continue
		}
		seen[name] = true
		if path, err := r2.Path(a.persist, a.Config.Name, name); err == nil {
			out = append(out, StorageUsage{Kind: StorageR2, Name: name, Bytes: fileBytes(path)})
		}
	}
	return out, errors.Join(errs...)
}

// fileBytes returns the size of a SQLite database and its write-ahead log;
// 0 for files that do not exist.
func fileBytes(path string) int64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if info, err := os.Stat(p); err == nil {
			n += info.Size()
		}
	}
	return n
}
