package bundle

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Options says what to bundle.
type Options struct {
	Entry  string            // absolute path of the entry module (.ts, .js, .mjs, …)
	Dir    string            // project directory: resolution root and base of source paths (default: Entry's directory)
	Define map[string]string // extra compile-time replacements, as esbuild's define
	// Rules are the config's module rules, applied before DefaultRules.
	Rules []Rule
}

// Result is a bundled Worker.
type Result struct {
	// Code is a CommonJS script ending in an inline source map comment, so
	// the engine reports positions in the user's files. Its source paths are
	// relative to Options.Dir: compile it under a name in that directory
	// (e.g. "worker.js") for stack traces to read "src/index.ts:4:9".
	Code string
	// Inputs are the absolute paths of the files the bundle was built from,
	// for a file watcher.
	Inputs []string
}

// Message is one problem esbuild found, at a position in a source file.
type Message struct {
	File         string // relative to Options.Dir
	Line, Column int    // 1-based line, 0-based column as esbuild reports
	Text         string
}

// Error lists the problems that stopped a build.
type Error struct {
	Messages []Message
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Messages))
	for i, m := range e.Messages {
		if m.File == "" {
			lines[i] = m.Text
			continue
		}
		lines[i] = fmt.Sprintf("%s:%d:%d: %s", m.File, m.Line, m.Column, m.Text)
	}
	return strings.Join(lines, "\n")
}

// nodeBuiltins are Node's module names. Workers with nodejs_compat import
// them with or without the "node:" prefix; all stay require calls (as do
// their subpaths, e.g. "stream/web"), and the runtime provides or refuses
// them when the code runs, so a library that merely mentions "fs" builds.
var nodeBuiltins = []string{
	"assert", "async_hooks", "buffer", "child_process", "cluster", "console",
	"constants", "crypto", "dgram", "diagnostics_channel", "dns", "domain",
	"events", "fs", "http", "http2", "https", "inspector", "module", "net",
	"os", "path", "perf_hooks", "process", "punycode", "querystring",
	"readline", "repl", "stream", "string_decoder", "sys", "timers", "tls",
	"trace_events", "tty", "url", "util", "v8", "vm", "wasi",
	"worker_threads", "zlib",
}

// unsupported is the syntax goja cannot parse, which esbuild lowers on top
// of Target ES2022. Found by experiment (goja 2026-09): goja parses the rest
// of ES2022 (private members, static blocks, ??=, ?., BigInt, numeric
// separators, regexp named groups, lookbehind, s flag, \p{…}), but not
//
//   - async generators (functions and methods) and for await;
//
//   - a class field named get, set, static or async (`set = (k, v) => …`,
//     as in hono; `static get = 1`; `#set = 1`): every field, public or
//     private, instance or static, is lowered to a constructor assignment
//     or WeakMap, since a feature flag cannot single out the names;
//
//   - the regexp d flag: lowered to `new RegExp(…, "d")`, so only code that
//     runs it fails rather than the whole script. The v flag (ES2024) is
//     already lowered by the target.
//
//   - import(): goja has no dynamic import. esbuild bundles an import() of
//     a literal specifier (or a template with a literal prefix, as a glob of
//     the matching files) into a lazily evaluated module of the bundle;
//     with dynamic-import marked unsupported, any other import(x) becomes
//     Promise.resolve().then(() => __toESM(require(x))), resolved by the
//     runtime's require (cloudflare:*, node:*), which rejects a specifier it
//     does not have with workerd's "No such module" error. A relative
//     specifier resolves against the modules of the bundle (see modules.go).
//
// Unlowerable, and so a compile error: regexp modifiers `(?i:…)`.
var unsupported = map[string]bool{
	"async-generator":      false,
	"for-await":            false,
	"class-field":          false,
	"class-static-field":   false,
	"regexp-match-indices": false,
	"dynamic-import":       false,
}

// Build bundles the entry module and everything it imports into one script.
func Build(opts Options) (*Result, error) {
	if opts.Dir == "" {
		opts.Dir = filepath.Dir(opts.Entry)
	}
	define := map[string]string{"process.env.NODE_ENV": `"production"`}
	for k, v := range opts.Define {
		define[k] = v
	}
	rules, err := effectiveRules(opts.Rules)
	if err != nil {
		return nil, err
	}
	external := []string{"cloudflare:*", "node:*"}
	external = append(external, nodeBuiltins...)
	build := api.BuildOptions{
		EntryPoints:       []string{opts.Entry},
		AbsWorkingDir:     opts.Dir,
		Outfile:           filepath.Join(opts.Dir, "worker.js"),
		Bundle:            true,
		Write:             false,
		Metafile:          true,
		Format:            api.FormatCommonJS,
		Platform:          api.PlatformNeutral,
		Target:            api.ES2022,
		Supported:         unsupported,
		MainFields:        []string{"browser", "module", "main"},
		Conditions:        []string{"workerd", "worker", "browser", "import", "default"},
		ResolveExtensions: []string{".ts", ".tsx", ".mts", ".js", ".mjs", ".cjs", ".jsx", ".json"},
		Loader: map[string]api.Loader{
			// As wrangler: JSX is allowed in .js files.
			// Text, Data and WebAssembly modules: see rulesPlugin.
			".js": api.LoaderJSX, ".mjs": api.LoaderJSX, ".cjs": api.LoaderJSX,
		},
		Plugins:        []api.Plugin{rulesPlugin(opts.Dir, rules)},
		External:       external,
		Define:         define,
		KeepNames:      true, // as wrangler: Function.name survives renaming
		Sourcemap:      api.SourceMapInline,
		SourcesContent: api.SourcesContentInclude,
		LogLevel:       api.LogLevelSilent,
	}
	res := api.Build(build)
	if len(res.Errors) > 0 {
		return nil, toError(opts.Dir, res.Errors)
	}
	if len(res.OutputFiles) == 0 {
		return nil, &Error{Messages: []Message{{Text: "esbuild produced no output"}}}
	}
	inputs, err := metaInputs(opts.Dir, res.Metafile)
	if err != nil {
		return nil, err
	}
	code := string(res.OutputFiles[0].Contents)
	if computedImport.MatchString(code) {
		// Build again with the modules by name (modules.go).
		if code, err = withModuleMap(build, opts, inputs); err != nil {
			return nil, err
		}
	}
	return &Result{Code: code, Inputs: inputs}, nil
}

func toError(dir string, msgs []api.Message) *Error {
	e := &Error{}
	for _, m := range msgs {
		msg := Message{Text: m.Text}
		if loc := m.Location; loc != nil {
			msg.File = loc.File
			if filepath.IsAbs(loc.File) {
				if rel, err := filepath.Rel(dir, loc.File); err == nil {
					msg.File = rel
				}
			}
			msg.Line, msg.Column = loc.Line, loc.Column
		}
		if strings.Contains(m.Text, "Top-level await is currently not supported with the \"cjs\" output format") {
			msg.Text = "top-level await is not supported in a Worker's modules; move the await into a handler"
		}
		e.Messages = append(e.Messages, msg)
	}
	return e
}

// metaInputs returns the absolute paths of the input files in esbuild's metafile.
func metaInputs(dir, metafile string) ([]string, error) {
	var meta struct {
		Inputs map[string]struct{} `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(metafile), &meta); err != nil {
		return nil, fmt.Errorf("read esbuild metafile: %w", err)
	}
	inputs := make([]string, 0, len(meta.Inputs))
	for p := range meta.Inputs {
		if strings.Contains(p, ":") { // virtual or namespaced (e.g. "cloudflare:workers")
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		inputs = append(inputs, p)
	}
	sort.Strings(inputs)
	return inputs, nil
}
