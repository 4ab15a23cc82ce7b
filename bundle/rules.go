package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Rule is a module rule (the config's "rules"): modules whose path,
// relative to the project directory, matches one of Globs are imported as
// Type. Text modules export their content as a string, Data modules as an
// ArrayBuffer, CompiledWasm modules as a WebAssembly.Module (compiled when
// the script loads, once per Worker: see package jsrt); ESModule and
// CommonJS are bundled as JavaScript.
type Rule struct {
	Type        string
	Globs       []string
	Fallthrough bool
}

// DefaultRules are wrangler's rules, applied after the config's.
var DefaultRules = []Rule{
	{Type: "Text", Globs: []string{"**/*.txt", "**/*.html", "**/*.sql"}},
	{Type: "Data", Globs: []string{"**/*.bin"}},
	{Type: "CompiledWasm", Globs: []string{"**/*.wasm", "**/*.wasm?module"}},
}

// compiledRule is a rule with its globs as regular expressions.
type compiledRule struct {
	typ   string
	globs []*regexp.Regexp
}

// effectiveRules returns the config's rules then the defaults, as wrangler
// applies them: once a rule of a type without fallthrough is seen, later
// rules of that type are ignored.
func effectiveRules(rules []Rule) ([]compiledRule, error) {
	done := make(map[string]bool)
	var out []compiledRule
	for _, r := range append(append([]Rule(nil), rules...), DefaultRules...) {
		if done[r.Type] {
			continue
		}
		if !r.Fallthrough {
			done[r.Type] = true
		}
		cr := compiledRule{typ: r.Type}
		for _, g := range r.Globs {
			re, err := globRegexp(g)
			if err != nil {
				return nil, fmt.Errorf("module rule %s glob %q: %w", r.Type, g, err)
			}
			cr.globs = append(cr.globs, re)
		}
		out = append(out, cr)
	}
	return out, nil
}

// globRegexp converts a glob (** any directories, * and ? within a
// segment, {a,b} alternatives) into an anchored regular expression.
func globRegexp(g string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch {
		case strings.HasPrefix(g[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(g[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '{':
			end := strings.IndexByte(g[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed {")
			}
			alts := strings.Split(g[i+1:i+end], ",")
			for j, a := range alts {
				alts[j] = regexp.QuoteMeta(a)
			}
			b.WriteString("(?:" + strings.Join(alts, "|") + ")")
			i += end
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// match returns the type of the first rule matching rel, or "".
func match(rules []compiledRule, rel string) string {
	rel = filepath.ToSlash(rel)
	for _, r := range rules {
		for _, re := range r.globs {
			if re.MatchString(rel) {
				return r.typ
			}
		}
	}
	return ""
}

// binaryNamespace holds the raw bytes behind a Data module.
const binaryNamespace = "cairn-data"

// rulesPlugin applies module rules to the files esbuild loads.
func rulesPlugin(dir string, rules []compiledRule) api.Plugin {
	rel := func(p string) string {
		if r, err := filepath.Rel(dir, p); err == nil {
			return r
		}
		return p
	}
	return api.Plugin{
		Name: "cairn-module-rules",
		Setup: func(b api.PluginBuild) {
			// "x.wasm?module" names a file with a suffix.
			b.OnResolve(api.OnResolveOptions{Filter: `\?module$`}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
				p := filepath.Join(a.ResolveDir, strings.TrimSuffix(a.Path, "?module"))
				if match(rules, rel(p)+"?module") == "CompiledWasm" || match(rules, rel(p)) == "CompiledWasm" {
					return api.OnResolveResult{Path: p, Namespace: "file", PluginData: "wasm"}, nil
				}
				return api.OnResolveResult{}, nil
			})
			b.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "file"}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
				typ := match(rules, rel(a.Path))
				if a.PluginData == "wasm" {
					typ = "CompiledWasm"
				}
				switch typ {
				case "Text":
					src, err := os.ReadFile(a.Path)
					if err != nil {
						return api.OnLoadResult{}, err
					}
					s := string(src)
					return api.OnLoadResult{Contents: &s, Loader: api.LoaderText}, nil
				case "Data":
					// An ArrayBuffer, as wrangler's Data modules: the bytes
					// come from a binary-loaded copy in binaryNamespace.
					js := fmt.Sprintf("import b from %q; export default b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);", a.Path)
					return api.OnLoadResult{Contents: &js, Loader: api.LoaderJS, ResolveDir: filepath.Dir(a.Path),
						PluginData: "data"}, nil
				case "CompiledWasm":
					// A WebAssembly.Module, as wrangler's CompiledWasm
					// modules: the bytes come as for Data modules.
					if _, err := os.Stat(a.Path); err != nil {
						return api.OnLoadResult{}, err
					}
					// A module that does not compile names its file.
					js := fmt.Sprintf(`import b from %q;
let m;
try { m = new WebAssembly.Module(b); } catch (e) { e.message = %q + e.message; throw e; }
export default m;`, a.Path, filepath.ToSlash(rel(a.Path))+": ")
					return api.OnLoadResult{Contents: &js, Loader: api.LoaderJS, ResolveDir: filepath.Dir(a.Path),
						PluginData: "data"}, nil
				}
				return api.OnLoadResult{}, nil
			})
			b.OnResolve(api.OnResolveOptions{Filter: `.*`}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
				if a.PluginData != "data" {
					return api.OnResolveResult{}, nil
				}
				return api.OnResolveResult{Path: a.Path, Namespace: binaryNamespace}, nil
			})
			b.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: binaryNamespace}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
				src, err := os.ReadFile(a.Path)
				if err != nil {
					return api.OnLoadResult{}, err
				}
				s := string(src)
				return api.OnLoadResult{Contents: &s, Loader: api.LoaderBinary}, nil
			})
		},
	}
}
