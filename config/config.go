package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Config is a validated wrangler configuration. Paths in it are absolute.
type Config struct {
	File string // absolute path of the config file
	Dir  string // directory of the config file; relative paths resolve against it

	Name               string   // Worker name; defaults to the name of Dir
	Main               string   // absolute path of the entry module; "" for an assets-only project
	CompatibilityDate  string   // "YYYY-MM-DD"; see Load for the default
	CompatibilityFlags []string // compatibility_flags, as written

	// Vars holds the plain bindings from "vars". Values are what JSON.parse
	// would produce: string, float64, bool, nil, []any or map[string]any.
	// It is nil if there are none.
	Vars map[string]any

	// CPULimit is limits.cpu_ms: the CPU time one request may use. Zero
	// means the runtime's default.
	CPULimit time.Duration

	// MemoryLimit is limits.memory_mb in bytes: the memory one request or
	// Durable Object event may hold (a cairn extension; Cloudflare fixes it
	// at 128 MB per isolate). Zero means the runtime's default, 128 MiB.
	MemoryLimit int64

	DurableObjects []DurableObjectBinding // durable_objects.bindings
	Migrations     []Migration            // migrations, in order
	D1Databases    []D1Database           // d1_databases
	KVNamespaces   []KVNamespace          // kv_namespaces
	R2Buckets      []R2Bucket             // r2_buckets
	Services       []ServiceBinding       // services

	Assets *Assets      // assets; nil without
	Build  *Build       // build; nil without
	Rules  []ModuleRule // rules, in order (before the default rules)
	Crons  []string     // triggers.crons

	// Unsupported are the bindings of kinds cairn does not serve yet
	// (r2_buckets, queues, ai, …), in file order. Load warns about each;
	// the Worker sees an object that throws when used.
	Unsupported []UnsupportedBinding
}

// DurableObjectBinding exposes a Durable Object namespace to the Worker as env[Name].
type DurableObjectBinding struct {
	Name       string // binding name
	ClassName  string // exported class that implements the object
	ScriptName string // Worker that defines the class; empty for this Worker
	// HistoryRetention is how long the history of the class's objects is
	// kept (cairn's history_retention key); 0: the server's default.
	HistoryRetention time.Duration
}

// Migration declares changes to the set of Durable Object classes. Migrations
// apply in order; each Tag is applied once.
type Migration struct {
	Tag              string
	NewClasses       []string // classes with key-value storage
	NewSQLiteClasses []string // classes with SQLite storage
	DeletedClasses   []string
	RenamedClasses   []RenamedClass
}

// RenamedClass renames a Durable Object class, keeping its objects' data.
type RenamedClass struct {
	From, To string
}

// D1Database binds a D1 (SQLite) database to the Worker as env[Binding].
type D1Database struct {
	Binding       string
	DatabaseName  string
	DatabaseID    string
	MigrationsDir string // absolute; defaults to Dir/migrations as in wrangler
	// HistoryRetention is how long the database's history (Time Travel)
	// is kept (cairn's history_retention key); 0: the server's default.
	HistoryRetention time.Duration
}

// KVNamespace binds a Workers KV namespace to the Worker as env[Binding].
type KVNamespace struct {
	Binding   string
	ID        string
	PreviewID string
	// HistoryRetention is how long the namespace's history is kept
	// (cairn's history_retention key); 0: the server's default.
	HistoryRetention time.Duration
}

// R2Bucket binds an R2 bucket to the Worker as env[Binding]. Locally the
// bucket is stored under BucketName, or Binding when it has none.
type R2Bucket struct {
	Binding    string
	BucketName string
}

// ServiceBinding binds a Worker (or one of its WorkerEntrypoint classes) to
// env[Binding], reachable with fetch and JS RPC.
type ServiceBinding struct {
	Binding    string
	Service    string // the Worker's name
	Entrypoint string // exported class; "" for the default export
}

// Error is a problem in a config file. Line is 1-based, or 0 when the problem
// has no single place in the file (such as a missing key).
type Error struct {
	File string // the path given to Load
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Find returns the config file for path, which is either a config file or a
// directory containing wrangler.jsonc, wrangler.json or wrangler.toml; when a
// directory has several, the first in that list wins, as in wrangler.
func Find(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("find config: %w", err)
	}
	if !fi.IsDir() {
		return path, nil
	}
	for _, name := range []string{"wrangler.jsonc", "wrangler.json", "wrangler.toml"} {
		file := filepath.Join(path, name)
		if fi, err := os.Stat(file); err == nil && !fi.IsDir() {
			return file, nil
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find config: %w", err)
		}
	}
	return "", fmt.Errorf("no wrangler.jsonc, wrangler.json or wrangler.toml in %s", path)
}

// Load reads and validates a config file. The format follows the extension:
// .jsonc and .json accept comments and trailing commas; .toml is TOML.
//
// Problems with the file's contents are returned as *Error, naming the file as
// given and the line. Keys that cairn does not know are not errors: warn, if
// not nil, is called once for each, and the key is ignored. Keys wrangler
// uses only for deployment (routes, account_id, ...) are ignored silently.
//
// If compatibility_date is missing, Load warns and uses today's date (UTC),
// as wrangler dev does; set it to keep behaviour stable over time.
func Load(file string, warn func(msg string)) (*Config, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}

	var doc *document
	switch ext := filepath.Ext(file); ext {
	case ".jsonc", ".json":
		doc, err = parseJSON(file, src)
	case ".toml":
		doc, err = parseTOML(file, src)
	default:
		return nil, &Error{File: file, Msg: fmt.Sprintf("unsupported config format %q (want .jsonc, .json or .toml)", ext)}
	}
	if err != nil {
		return nil, err
	}

	if warn == nil {
		warn = func(string) {}
	}
	d := &decoder{document: doc, warn: warn}
	c := &Config{File: abs, Dir: filepath.Dir(abs)}
	err = d.decode(c)
	d.warnUnknown() // even on error: an unknown key may be a misspelt one
	if err != nil {
		return nil, err
	}
	return c, nil
}

// HasFlag reports whether compatibility_flags contains name.
func (c *Config) HasFlag(name string) bool {
	return slices.Contains(c.CompatibilityFlags, name)
}

// CompatDate returns CompatibilityDate as a time at midnight UTC, or the zero
// time if it is not a valid date (which Load never returns).
func (c *Config) CompatDate() time.Time {
	t, err := time.Parse(time.DateOnly, c.CompatibilityDate)
	if err != nil {
		return time.Time{}
	}
	return t
}

// SQLiteClass reports whether objects of the Durable Object class store their
// data in SQLite: the class was introduced by new_sqlite_classes (perhaps
// renamed since). A config with no migrations at all is accepted, as wrangler
// dev accepts it, and then every class counts as SQLite-backed.
func (c *Config) SQLiteClass(class string) bool {
	if len(c.Migrations) == 0 {
		return true
	}
	classes, _, _ := replay(c.Migrations)
	return classes[class]
}

// replay applies migrations in order and returns the classes that exist
// afterwards, each mapped to whether it is SQLite-backed. If a migration does
// not fit the ones before it, replay stops and returns the key path of the
// offending entry and what is wrong.
func replay(ms []Migration) (classes map[string]bool, path, problem string) {
	classes = make(map[string]bool)
	for i, m := range ms {
		at := func(key string, j int) string { return fmt.Sprintf("migrations[%d].%s[%d]", i, key, j) }
		for _, key := range []string{"new_classes", "new_sqlite_classes"} {
			names := m.NewClasses
			if key == "new_sqlite_classes" {
				names = m.NewSQLiteClasses
			}
			for j, name := range names {
				if _, ok := classes[name]; ok {
					return classes, at(key, j), fmt.Sprintf("class %q already exists", name)
				}
				classes[name] = key == "new_sqlite_classes"
			}
		}
		for j, r := range m.RenamedClasses {
			sqlite, ok := classes[r.From]
			if !ok {
				return classes, at("renamed_classes", j), fmt.Sprintf("renamed class %q does not exist", r.From)
			}
			if _, ok := classes[r.To]; ok {
				return classes, at("renamed_classes", j), fmt.Sprintf("class %q already exists", r.To)
			}
			delete(classes, r.From)
			classes[r.To] = sqlite
		}
		for j, name := range m.DeletedClasses {
			if _, ok := classes[name]; !ok {
				return classes, at("deleted_classes", j), fmt.Sprintf("deleted class %q does not exist", name)
			}
			delete(classes, name)
		}
	}
	return classes, "", ""
}

// ClassOf returns the Durable Object class a name refers to: the class of
// the binding of that name, else the name itself.
func (c *Config) ClassOf(name string) string {
	for _, b := range c.DurableObjects {
		if b.Name == name {
			return b.ClassName
		}
	}
	return name
}
