package bundle

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// A dynamic import() of a computed specifier, import(route.module), cannot
// be bundled: esbuild leaves it to the runtime's require. workerd resolves
// such a specifier against the Worker's uploaded modules, named by their
// paths relative to the main module's directory, and wrangler uploads the
// bundle there. cairn does the same against the modules of its bundle:
// when the bundle has a computed import(), it is built again from an entry
// that also lists the project's modules (the bundle's inputs outside
// node_modules) by name, each a function that evaluates it, in the global
// ModuleMapGlobal; the runtime's require looks a relative specifier up
// there ("./routes/home.js", a .ts module also under its .js name) and
// rejects one that is not with workerd's "No such module" error.

// ModuleMapGlobal is the name of the (non-enumerable, read-only) global
// that holds a bundle's modules by name, when it has a computed import().
const ModuleMapGlobal = "__cairn_modules"

// computedImport finds what esbuild makes of import(x) with x not a string
// literal (dynamic import being marked unsupported).
var computedImport = regexp.MustCompile(`__toESM\(require\([^"]`)

// moduleExtensions are the extensions of the modules listed, with the name
// each is also listed under (TypeScript compiles to .js).
var moduleExtensions = map[string]string{
	".js": "", ".mjs": "", ".cjs": "", ".jsx": ".js",
	".ts": ".js", ".mts": ".mjs", ".cts": ".cjs", ".tsx": ".js",
}

// withModuleMap builds the bundle again with the module map.
func withModuleMap(build api.BuildOptions, opts Options, inputs []string) (string, error) {
	base := filepath.Dir(opts.Entry)
	var b strings.Builder
	b.WriteString("const modules = {\n")
	for _, in := range inputs {
		alias, ok := moduleExtensions[filepath.Ext(in)]
		rel, err := filepath.Rel(base, in)
		if !ok || err != nil || strings.Contains(in, string(filepath.Separator)+"node_modules"+string(filepath.Separator)) {
			continue
		}
		name := filepath.ToSlash(rel)
		load := fmt.Sprintf("() => require(%s)", strconv.Quote(in))
		fmt.Fprintf(&b, "  %s: %s,\n", strconv.Quote(name), load)
		if alias != "" {
			fmt.Fprintf(&b, "  %s: %s,\n", strconv.Quote(strings.TrimSuffix(name, filepath.Ext(name))+alias), load)
		}
	}
	fmt.Fprintf(&b, "};\nObject.defineProperty(globalThis, %q, { value: Object.freeze(Object.setPrototypeOf(modules, null)) });\n", ModuleMapGlobal)
	fmt.Fprintf(&b, "module.exports = require(%s);\n", strconv.Quote(opts.Entry))
	build.EntryPoints = nil
	build.Stdin = &api.StdinOptions{Contents: b.String(), ResolveDir: opts.Dir, Sourcefile: "<cairn module map>", Loader: api.LoaderJS}
	res := api.Build(build)
	if len(res.Errors) > 0 {
		return "", toError(opts.Dir, res.Errors)
	}
	if len(res.OutputFiles) == 0 {
		return "", &Error{Messages: []Message{{Text: "esbuild produced no output"}}}
	}
	return string(res.OutputFiles[0].Contents), nil
}
