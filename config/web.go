package config

import (
	"fmt"
	"github.com/cairn-dev/cairn/crons"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Assets is the "assets" object: a directory of static files served ahead
// of (or, with RunWorkerFirst, behind) the Worker.
type Assets struct {
	Directory        string // absolute
	Binding          string // env binding for env.ASSETS.fetch; "" for none
	HTMLHandling     string // "" means auto-trailing-slash
	NotFoundHandling string // "" means none
	RunWorkerFirst   bool
	// RunWorkerFirstRules holds run_worker_first when it is an array of
	// route patterns; nil when it is a boolean or absent.
	RunWorkerFirstRules []string
}

// Build is the "build" object: a command run before bundling, and again
// when the files under WatchDirs change.
type Build struct {
	Command   string   // run with sh -c
	Cwd       string   // absolute; default Dir
	WatchDirs []string // absolute; default Dir/src
}

// ModuleRule is one of "rules": modules whose path matches one of Globs
// are imported as Type (Text, Data, CompiledWasm, ESModule, CommonJS).
// Without Fallthrough, a later rule of the same type is not applied.
type ModuleRule struct {
	Type        string
	Globs       []string
	Fallthrough bool
}

// ModuleTypes are the module types a rule may name.
var ModuleTypes = []string{"ESModule", "CommonJS", "CompiledWasm", "Text", "Data", "PythonModule", "PythonRequirement"}

// ServeOnly ends the warning about a key only cairn serve reads (routes),
// which cairn serve leaves out of its log.
const ServeOnly = "is read by cairn serve, not cairn dev"

// ignoredKeys are wrangler's top-level keys cairn does not act on, with
// why; each present one gets a warning.
var ignoredKeys = map[string]string{
	"account_id":              "is a deployment setting",
	"workers_dev":             "is a deployment setting",
	"preview_urls":            "is a deployment setting",
	"routes":                  ServeOnly,
	"route":                   ServeOnly,
	"observability":           "is a deployment setting",
	"upload_source_maps":      "is a deployment setting",
	"placement":               "is a deployment setting",
	"logpush":                 "is a deployment setting",
	"keep_vars":               "is a deployment setting",
	"send_metrics":            "is a wrangler setting",
	"usage_model":             "is a deployment setting",
	"tail_consumers":          "is not supported by cairn yet",
	"minify":                  "is not supported by cairn (bundles are not minified)",
	"dev":                     "is not read by cairn dev (use its flags: --port, --ip)",
	"env":                     "(named environments) is not supported by cairn yet",
	"no_bundle":               "is not supported by cairn (it always bundles)",
	"find_additional_modules": "is not supported by cairn (it always bundles)",
	"preserve_file_names":     "is not supported by cairn (it always bundles)",
	"base_dir":                "is not supported by cairn (it always bundles)",
	"unsafe":                  "is not supported by cairn",
	"alias":                   "is not supported by cairn yet",
	"define":                  "is not supported by cairn yet",
	"tsconfig":                "is not read by cairn",
	"jsx_factory":             "is not supported by cairn yet",
	"jsx_fragment":            "is not supported by cairn yet",
	"node_compat":             "is not supported (use compatibility_flags: [\"nodejs_compat\"])",
	"legacy_env":              "is a wrangler setting",
	"site":                    "(Workers Sites) is not supported; use assets",
	"wasm_modules":            "is not supported by cairn",
	"text_blobs":              "is not supported by cairn",
	"data_blobs":              "is not supported by cairn",
	"migrations_table":        "is not supported by cairn",
	"limits.subrequests":      "is not enforced by cairn",
}

// decodeWeb reads the keys about serving a web app: assets, build,
// triggers and rules.
func (d *decoder) decodeWeb(c *Config) error {
	root := d.root
	a, err := d.object(root, "", "assets")
	if err != nil {
		return err
	}
	if a != nil {
		d.checkKeys("assets", a, known("directory", "binding", "html_handling", "not_found_handling", "run_worker_first", "experimental_serve_directly", "serve_directly"))
		as := &Assets{}
		dir, err := d.str(a, "assets", "directory")
		if err != nil {
			return err
		}
		if as.Binding, err = d.str(a, "assets", "binding"); err != nil {
			return err
		}
		if dir == "" {
			// Projects built with the Cloudflare Vite plugin leave it to
			// the build, which writes a complete config.
			return d.errorf("assets", `"assets" needs a "directory" (the static files to serve), e.g. "./public"; `+
				`a project built with the Cloudflare Vite plugin gets one from "vite build": run cairn on the generated dist/<worker>/wrangler.json`)
		}
		as.Directory = d.path(c, dir)
		if as.HTMLHandling, err = d.oneOf(a, "assets", "html_handling", "auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none"); err != nil {
			return err
		}
		if as.NotFoundHandling, err = d.oneOf(a, "assets", "not_found_handling", "single-page-application", "404-page", "none"); err != nil {
			return err
		}
		switch v := a["run_worker_first"].(type) {
		case nil:
		case bool:
			as.RunWorkerFirst = v
		case []any:
			if as.RunWorkerFirstRules, err = d.strs(a, "assets", "run_worker_first"); err != nil {
				return err
			}
			if as.RunWorkerFirstRules == nil {
				as.RunWorkerFirstRules = []string{}
			}
		default:
			return d.errorf("assets.run_worker_first", `"assets.run_worker_first" must be a boolean or an array of route patterns, got %s`, typeName(v))
		}
		if sd, ok := a["serve_directly"].(bool); ok && !sd {
			as.RunWorkerFirst = true // the older spelling of run_worker_first: true
		}
		if sd, ok := a["experimental_serve_directly"].(bool); ok && !sd {
			as.RunWorkerFirst = true
		}
		c.Assets = as
	}

	if err := d.decodeBuild(c); err != nil {
		return err
	}

	t, err := d.object(root, "", "triggers")
	if err != nil {
		return err
	}
	d.checkKeys("triggers", t, known("crons"))
	if c.Crons, err = d.strs(t, "triggers", "crons"); err != nil {
		return err
	}
	for i, expr := range c.Crons {
		if _, err := crons.Parse(expr); err != nil {
			return d.errorf(index("triggers.crons", i), "triggers.crons[%d]: %v", i, err)
		}
	}

	return d.each(root, "", "rules", known("type", "globs", "fallthrough"), func(m map[string]any, path string) (err error) {
		var r ModuleRule
		if r.Type, err = d.required(m, path, "type"); err != nil {
			return err
		}
		if !slices.Contains(ModuleTypes, r.Type) {
			return d.errorf(join(path, "type"), "%s.type %q is not a module type (want one of %s)", path, r.Type, strings.Join(ModuleTypes, ", "))
		}
		if r.Globs, err = d.strs(m, path, "globs"); err != nil {
			return err
		}
		if len(r.Globs) == 0 {
			return d.errorf(path, "%s needs \"globs\", e.g. [\"**/*.md\"]", path)
		}
		if v, ok := m["fallthrough"]; ok {
			f, ok := v.(bool)
			if !ok {
				return d.errorf(join(path, "fallthrough"), "%q must be a boolean, got %s", join(path, "fallthrough"), typeName(v))
			}
			r.Fallthrough = f
		}
		c.Rules = append(c.Rules, r)
		return nil
	})
}

// oneOf returns the string at m[key], which must be one of values if set.
func (d *decoder) oneOf(m map[string]any, path, key string, values ...string) (string, error) {
	s, err := d.str(m, path, key)
	if err != nil || s == "" {
		return s, err
	}
	if !slices.Contains(values, s) {
		return "", d.errorf(join(path, key), "%q must be one of %s, got %q", join(path, key), strings.Join(values, ", "), s)
	}
	return s, nil
}

// path resolves a config path against the config's directory.
func (d *decoder) path(c *Config, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.Dir, p)
}

// decodeBuild reads the "build" object.
func (d *decoder) decodeBuild(c *Config) error {
	b, err := d.object(d.root, "", "build")
	if err != nil {
		return err
	}
	if b != nil {
		d.checkKeys("build", b, known("command", "cwd", "watch_dir"))
		bc := &Build{}
		if bc.Command, err = d.str(b, "build", "command"); err != nil {
			return err
		}
		cwd, err := d.str(b, "build", "cwd")
		if err != nil {
			return err
		}
		bc.Cwd = d.path(c, cwd)
		var watch []string
		switch v := b["watch_dir"].(type) {
		case nil:
			watch = []string{"src"}
		case string:
			watch = []string{v}
		case []any:
			if watch, err = d.strs(b, "build", "watch_dir"); err != nil {
				return err
			}
		default:
			return d.errorf("build.watch_dir", `"build.watch_dir" must be a string or an array of strings, got %s`, typeName(v))
		}
		for _, w := range watch {
			bc.WatchDirs = append(bc.WatchDirs, d.path(c, w))
		}
		if bc.Command != "" {
			c.Build = bc
		}
	}

	return nil
}

// LoadBuild reads only the "build" object of a config file, for running
// the build command before Load: the command may create the main module.
// It returns nil if there is no build command.
func LoadBuild(file string) (*Build, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	var doc *document
	switch filepath.Ext(file) {
	case ".toml":
		doc, err = parseTOML(file, src)
	default:
		doc, err = parseJSON(file, src)
	}
	if err != nil {
		return nil, err
	}
	c := &Config{File: abs, Dir: filepath.Dir(abs)}
	d := &decoder{document: doc, warn: func(string) {}}
	if err := d.decodeBuild(c); err != nil {
		return nil, err
	}
	return c.Build, nil
}

// decodeAssetsOnly finishes decoding a config without "main": a project
// of static assets only, as wrangler allows. Keys for a Worker are not
// allowed then.
func (d *decoder) decodeAssetsOnly(c *Config) error {
	for _, k := range []string{"durable_objects", "migrations", "d1_databases", "kv_namespaces", "services", "triggers"} {
		if _, ok := d.root[k]; ok {
			return d.errorf(k, "%q needs a Worker: set \"main\" to its entry module", k)
		}
	}
	var err error
	if c.CompatibilityDate, err = d.str(d.root, "", "compatibility_date"); err != nil {
		return err
	}
	if c.Name, err = d.str(d.root, "", "name"); err != nil {
		return err
	}
	if c.Name == "" {
		c.Name = filepath.Base(c.Dir)
	}
	if c.CompatibilityFlags, err = d.strs(d.root, "", "compatibility_flags"); err != nil {
		return err
	}
	if err := d.decodeWeb(c); err != nil {
		return err
	}
	if c.Assets.Binding != "" {
		return d.errorf("assets.binding", `"assets.binding" needs a Worker: set "main" to its entry module`)
	}
	if c.Assets.RunWorkerFirst || c.Assets.RunWorkerFirstRules != nil {
		return d.errorf("assets.run_worker_first", `"assets.run_worker_first" needs a Worker: set "main" to its entry module`)
	}
	return nil
}
