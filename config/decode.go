package config

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// A decoder turns a document into a Config, checking types and values.
type decoder struct {
	*document
	warn    func(msg string)
	unknown []string // key paths of unknown keys seen so far
}

func (d *decoder) decode(c *Config) error {
	root := d.root
	d.checkKeys("", root, isTopLevelKey)

	var err error
	if c.Name, err = d.str(root, "", "name"); err != nil {
		return err
	}
	nameFromDir := c.Name == ""
	if nameFromDir {
		c.Name = filepath.Base(c.Dir)
	}

	main, err := d.str(root, "", "main")
	if err != nil {
		return err
	}
	if main == "" {
		if _, ok := root["assets"]; ok {
			return d.decodeAssetsOnly(c)
		}
		return &Error{File: d.file, Msg: `"main" is required: set it to your Worker's entry module, e.g. "src/index.ts"`}
	}
	c.Main = filepath.Join(c.Dir, main)
	if filepath.IsAbs(main) {
		c.Main = filepath.Clean(main)
	}
	if fi, err := os.Stat(c.Main); err != nil {
		return d.errorf("main", "main module %q does not exist (looked for %s)", main, c.Main)
	} else if fi.IsDir() {
		return d.errorf("main", "main module %q is a directory, want a file", main)
	}

	if c.CompatibilityDate, err = d.str(root, "", "compatibility_date"); err != nil {
		return err
	}
	if c.CompatibilityDate == "" {
		c.CompatibilityDate = time.Now().UTC().Format(time.DateOnly)
		d.warn(fmt.Sprintf("%s: no compatibility_date set; using today's date %s", d.file, c.CompatibilityDate))
	} else if _, err := time.Parse(time.DateOnly, c.CompatibilityDate); err != nil {
		return d.errorf("compatibility_date", "compatibility_date %q is not a valid date (want YYYY-MM-DD)", c.CompatibilityDate)
	}
	if c.CompatibilityFlags, err = d.strs(root, "", "compatibility_flags"); err != nil {
		return err
	}

	if c.Vars, err = d.object(root, "", "vars"); err != nil {
		return err
	}

	limits, err := d.object(root, "", "limits")
	if err != nil {
		return err
	}
	d.checkKeys("limits", limits, known("cpu_ms", "memory_mb"))
	if v, ok := limits["cpu_ms"]; ok {
		ms, ok := v.(float64)
		if !ok || ms <= 0 || ms != float64(int64(ms)) {
			return d.errorf("limits.cpu_ms", "limits.cpu_ms must be a positive whole number of milliseconds, got %v", v)
		}
		c.CPULimit = time.Duration(ms) * time.Millisecond
	}
	if v, ok := limits["memory_mb"]; ok {
		mb, ok := v.(float64)
		if !ok || mb <= 0 || mb != float64(int64(mb)) {
			return d.errorf("limits.memory_mb", "limits.memory_mb must be a positive whole number of megabytes, got %v", v)
		}
		c.MemoryLimit = int64(mb) << 20
	}

	do, err := d.object(root, "", "durable_objects")
	if err != nil {
		return err
	}
	d.checkKeys("durable_objects", do, known("bindings"))
	err = d.each(do, "durable_objects", "bindings", known("name", "class_name", "script_name", "environment", "history_retention"),
		func(m map[string]any, path string) (err error) {
			var b DurableObjectBinding
			if b.Name, err = d.required(m, path, "name"); err != nil {
				return err
			}
			if b.ClassName, err = d.required(m, path, "class_name"); err != nil {
				return err
			}
			if b.ScriptName, err = d.str(m, path, "script_name"); err != nil {
				return err
			}
			if b.HistoryRetention, err = d.retention(m, path); err != nil {
				return err
			}
			if b.HistoryRetention != 0 {
				if b.ScriptName != "" {
					return d.errorf(join(path, "history_retention"), "%s: the objects of class %s live in Worker %s: set their history_retention in its config", join(path, "history_retention"), b.ClassName, b.ScriptName)
				}
				for _, o := range c.DurableObjects {
					if o.ClassName == b.ClassName && o.ScriptName == "" && o.HistoryRetention != 0 && o.HistoryRetention != b.HistoryRetention {
						return d.errorf(join(path, "history_retention"), "%s: binding %s already gives class %s a history_retention of %v", join(path, "history_retention"), o.Name, b.ClassName, o.HistoryRetention)
					}
				}
			}
			c.DurableObjects = append(c.DurableObjects, b)
			return nil
		})
	if err != nil {
		return err
	}

	err = d.each(root, "", "migrations", known("tag", "new_classes", "new_sqlite_classes", "deleted_classes", "renamed_classes"),
		func(m map[string]any, path string) (err error) {
			var mg Migration
			if mg.Tag, err = d.required(m, path, "tag"); err != nil {
				return err
			}
			if mg.NewClasses, err = d.strs(m, path, "new_classes"); err != nil {
				return err
			}
			if mg.NewSQLiteClasses, err = d.strs(m, path, "new_sqlite_classes"); err != nil {
				return err
			}
			if mg.DeletedClasses, err = d.strs(m, path, "deleted_classes"); err != nil {
				return err
			}
			err = d.each(m, path, "renamed_classes", known("from", "to"), func(m map[string]any, path string) (err error) {
				var r RenamedClass
				if r.From, err = d.required(m, path, "from"); err != nil {
					return err
				}
				if r.To, err = d.required(m, path, "to"); err != nil {
					return err
				}
				mg.RenamedClasses = append(mg.RenamedClasses, r)
				return nil
			})
			c.Migrations = append(c.Migrations, mg)
			return err
		})
	if err != nil {
		return err
	}

	err = d.each(root, "", "d1_databases", known("binding", "database_name", "database_id", "migrations_dir", "preview_database_id", "migrations_table", "remote", "history_retention"),
		func(m map[string]any, path string) (err error) {
			var db D1Database
			if db.Binding, err = d.required(m, path, "binding"); err != nil {
				return err
			}
			if db.DatabaseName, err = d.str(m, path, "database_name"); err != nil {
				return err
			}
			if db.DatabaseID, err = d.str(m, path, "database_id"); err != nil {
				return err
			}
			if db.MigrationsDir, err = d.str(m, path, "migrations_dir"); err != nil {
				return err
			}
			db.MigrationsDir = filepath.Join(c.Dir, cmp.Or(db.MigrationsDir, "migrations"))
			if db.HistoryRetention, err = d.retention(m, path); err != nil {
				return err
			}
			c.D1Databases = append(c.D1Databases, db)
			return nil
		})
	if err != nil {
		return err
	}

	err = d.each(root, "", "kv_namespaces", known("binding", "id", "preview_id", "remote", "history_retention"),
		func(m map[string]any, path string) (err error) {
			var kv KVNamespace
			if kv.Binding, err = d.required(m, path, "binding"); err != nil {
				return err
			}
			if kv.ID, err = d.str(m, path, "id"); err != nil {
				return err
			}
			if kv.PreviewID, err = d.str(m, path, "preview_id"); err != nil {
				return err
			}
			if kv.HistoryRetention, err = d.retention(m, path); err != nil {
				return err
			}
			c.KVNamespaces = append(c.KVNamespaces, kv)
			return nil
		})
	if err != nil {
		return err
	}

	err = d.each(root, "", "r2_buckets", known("binding", "bucket_name", "preview_bucket_name", "jurisdiction", "remote"),
		func(m map[string]any, path string) (err error) {
			var b R2Bucket
			if b.Binding, err = d.required(m, path, "binding"); err != nil {
				return err
			}
			if b.BucketName, err = d.str(m, path, "bucket_name"); err != nil {
				return err
			}
			c.R2Buckets = append(c.R2Buckets, b)
			return nil
		})
	if err != nil {
		return err
	}

	err = d.each(root, "", "services", known("binding", "service", "entrypoint", "environment", "remote"),
		func(m map[string]any, path string) (err error) {
			var sb ServiceBinding
			if sb.Binding, err = d.required(m, path, "binding"); err != nil {
				return err
			}
			if sb.Service, err = d.required(m, path, "service"); err != nil {
				return err
			}
			if sb.Entrypoint, err = d.str(m, path, "entrypoint"); err != nil {
				return err
			}
			c.Services = append(c.Services, sb)
			return nil
		})
	if err != nil {
		return err
	}

	if err := d.checkNames(c, nameFromDir); err != nil {
		return err
	}
	if c.Unsupported, err = d.unsupportedBindings(root); err != nil {
		return err
	}
	if err := d.decodeWeb(c); err != nil {
		return err
	}
	return d.validate(c)
}

// validate checks what spans several keys: binding names, migration tags,
// and that each Durable Object class is declared by a migration.
func (d *decoder) validate(c *Config) error {
	bindings := make(map[string]string) // binding name -> key path of its first use
	for _, name := range slices.Sorted(maps.Keys(c.Vars)) {
		bindings[name] = join("vars", name)
	}
	addBinding := func(name, path string) error {
		if !isIdentifier(name) {
			return d.errorf(path, "binding name %q is not a valid JavaScript identifier", name)
		}
		if prev, ok := bindings[name]; ok {
			return d.errorf(path, "binding name %q is already used by %s", name, prev)
		}
		bindings[name] = path
		return nil
	}
	for i, b := range c.DurableObjects {
		if err := addBinding(b.Name, index("durable_objects.bindings", i)+".name"); err != nil {
			return err
		}
	}
	for i, db := range c.D1Databases {
		if err := addBinding(db.Binding, index("d1_databases", i)+".binding"); err != nil {
			return err
		}
	}
	for i, kv := range c.KVNamespaces {
		if err := addBinding(kv.Binding, index("kv_namespaces", i)+".binding"); err != nil {
			return err
		}
	}
	for i, b := range c.R2Buckets {
		if err := addBinding(b.Binding, index("r2_buckets", i)+".binding"); err != nil {
			return err
		}
	}
	for i, sb := range c.Services {
		if err := addBinding(sb.Binding, index("services", i)+".binding"); err != nil {
			return err
		}
	}

	if c.Assets != nil && c.Assets.Binding != "" {
		if err := addBinding(c.Assets.Binding, "assets.binding"); err != nil {
			return err
		}
	}

	tags := make(map[string]int)
	for i, m := range c.Migrations {
		if j, ok := tags[m.Tag]; ok {
			return d.errorf(index("migrations", i)+".tag", "migration tag %q is already used by migrations[%d]", m.Tag, j)
		}
		tags[m.Tag] = i
	}
	if len(c.Migrations) == 0 {
		return nil // as in wrangler dev; every class counts as SQLite-backed
	}
	classes, path, problem := replay(c.Migrations)
	if problem != "" {
		return d.errorf(path, "%s: %s", path, problem)
	}
	for i, b := range c.DurableObjects {
		if _, ok := classes[b.ClassName]; !ok && b.ScriptName == "" {
			return d.errorf(index("durable_objects.bindings", i)+".class_name",
				"class %q is not declared by any migration: add it to new_sqlite_classes in a new migration", b.ClassName)
		}
	}
	return nil
}

// checkKeys records each key of m, an object at path, that known rejects.
func (d *decoder) checkKeys(path string, m map[string]any, known func(key string) bool) {
	for k := range m {
		if !known(k) {
			d.unknown = append(d.unknown, join(path, k))
		}
	}
}

// warnUnknown warns about the keys checkKeys recorded, in line order.
func (d *decoder) warnUnknown() {
	slices.SortFunc(d.unknown, func(a, b string) int {
		return cmp.Or(cmp.Compare(d.line(a), d.line(b)), cmp.Compare(a, b))
	})
	for _, p := range d.unknown {
		if why, ok := ignoredKeys[p]; ok {
			d.warn(fmt.Sprintf("%s:%d: %q %s; ignored", d.file, d.line(p), p, why))
			continue
		}
		d.warn(fmt.Sprintf("%s:%d: unknown key %q ignored", d.file, d.line(p), p))
	}
}

// known returns a checkKeys filter accepting the given keys.
func known(keys ...string) func(string) bool {
	return func(k string) bool { return slices.Contains(keys, k) }
}

// isTopLevelKey reports whether k is a top-level key cairn reads, or one of
// wrangler's that does not matter for a local run and is ignored silently.
func isTopLevelKey(k string) bool {
	switch k {
	case "name", "main", "compatibility_date", "compatibility_flags", "vars",
		"durable_objects", "migrations", "d1_databases", "kv_namespaces", "r2_buckets", "services",
		"limits", "assets", "build", "triggers", "rules", "$schema",
		// Bindings cairn does not provide (warned about elsewhere).
		"queues", "ai", "vectorize", "hyperdrive",
		"analytics_engine_datasets", "send_email", "workflows", "version_metadata", "browser",
		"secrets_store_secrets", "dispatch_namespaces", "mtls_certificates",
		"pipelines", "containers", "images":
		return true
	}
	return false
}

// str returns the string at m[key] (m being at path), or "" if absent.
func (d *decoder) str(m map[string]any, path, key string) (string, error) {
	v, ok := m[key]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", d.errorf(join(path, key), "%q must be a string, got %s", join(path, key), typeName(v))
	}
	return s, nil
}

// MaxHistoryRetention bounds a history_retention: ten years.
const MaxHistoryRetention = 10 * 365 * 24 * time.Hour

// retention returns the duration at m["history_retention"] (cairn's key on
// a D1 database, KV namespace or Durable Object binding: how long its
// history is kept), or 0 if absent. It is a string of Go's duration
// syntax where "d" may also count days: "30d", "36h", "7d12h".
func (d *decoder) retention(m map[string]any, path string) (time.Duration, error) {
	s, err := d.str(m, path, "history_retention")
	if err != nil || s == "" {
		if err == nil && m["history_retention"] != nil {
			err = d.errorf(join(path, "history_retention"), "%q must not be empty", join(path, "history_retention"))
		}
		return 0, err
	}
	r, err := ParseRetention(s)
	if err != nil {
		return 0, d.errorf(join(path, "history_retention"), "%s: %v", join(path, "history_retention"), err)
	}
	return r, nil
}

// ParseRetention parses a history retention: Go's duration syntax (such
// as "36h" or "90m") where a whole number of days may lead ("30d",
// "7d12h"). It must be positive and at most MaxHistoryRetention.
func ParseRetention(s string) (time.Duration, error) {
	var days time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (want e.g. \"30d\", \"7d12h\" or \"36h\")", s)
		}
		days, rest = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	var r time.Duration
	if rest != "" {
		var err error
		if r, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("%q is not a duration (want e.g. \"30d\", \"7d12h\" or \"36h\")", s)
		}
	}
	r += days
	switch {
	case r <= 0:
		return 0, fmt.Errorf("%q must be positive", s)
	case r > MaxHistoryRetention:
		return 0, fmt.Errorf("%q is longer than %d days", s, MaxHistoryRetention/(24*time.Hour))
	}
	return r, nil
}

// required is str for a key that must be present and not empty.
func (d *decoder) required(m map[string]any, path, key string) (string, error) {
	if _, ok := m[key]; !ok {
		return "", d.errorf(path, "%s is missing %q", path, key)
	}
	s, err := d.str(m, path, key)
	if err == nil && s == "" {
		err = d.errorf(join(path, key), "%q must not be empty", join(path, key))
	}
	return s, err
}

// strs returns the array of strings at m[key], or nil if absent.
func (d *decoder) strs(m map[string]any, path, key string) ([]string, error) {
	v, ok := m[key]
	if !ok {
		return nil, nil
	}
	p := join(path, key)
	a, ok := v.([]any)
	if !ok {
		return nil, d.errorf(p, "%q must be an array of strings, got %s", p, typeName(v))
	}
	out := make([]string, len(a))
	for i, x := range a {
		s, ok := x.(string)
		if !ok {
			return nil, d.errorf(index(p, i), "%s must be a string, got %s", index(p, i), typeName(x))
		}
		out[i] = s
	}
	return out, nil
}

// object returns the object at m[key], or nil if absent.
func (d *decoder) object(m map[string]any, path, key string) (map[string]any, error) {
	v, ok := m[key]
	if !ok {
		return nil, nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		return nil, d.errorf(join(path, key), "%q must be an object, got %s", join(path, key), typeName(v))
	}
	return o, nil
}

// each calls f for each object in the array at m[key], with the object's key
// path, after warning about keys that known rejects. An absent key is an
// empty array.
func (d *decoder) each(m map[string]any, path, key string, known func(string) bool, f func(m map[string]any, path string) error) error {
	v, ok := m[key]
	if !ok {
		return nil
	}
	p := join(path, key)
	a, ok := v.([]any)
	if !ok {
		return d.errorf(p, "%q must be an array of objects, got %s", p, typeName(v))
	}
	for i, x := range a {
		o, ok := x.(map[string]any)
		if !ok {
			return d.errorf(index(p, i), "%s must be an object, got %s", index(p, i), typeName(x))
		}
		d.checkKeys(index(p, i), o, known)
		if err := f(o, index(p, i)); err != nil {
			return err
		}
	}
	return nil
}

// isIdentifier reports whether s is a valid JavaScript identifier name, so
// the binding can be used as env.NAME.
func isIdentifier(s string) bool {
	for i, r := range s {
		if r == '_' || r == '$' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r) {
			continue
		}
		return false
	}
	return s != ""
}
