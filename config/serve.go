package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Serve is a cairn.toml: what "cairn serve" runs and where. Paths are
// absolute (relative ones in the file resolve against its directory).
//
//	data_dir = "/var/lib/cairn"        # state of every Worker, <data_dir>/<worker>/
//	shutdown_timeout = "30s"           # SIGTERM: time to finish requests and commits
//	log_format = "json"                # or "text"
//
//	[http]
//	listen = "0.0.0.0:8080"
//
//	[https]                            # optional
//	listen = "0.0.0.0:8443"
//	cert_file = "/etc/cairn/cert.pem"
//	key_file = "/etc/cairn/key.pem"
//
//	[admin]                            # optional: the admin API
//	listen = "127.0.0.1:9090"
//	token = "…"                        # needed off loopback
//
//	[[workers]]
//	config = "../counter"              # a wrangler config, or the directory holding one
//	routes = ["counter.example.com/*"] # optional: replaces the config's own routes
//	vars = { GREETING = "hi" }         # optional: overrides the config's vars
//
// Unknown keys are errors: a misspelt setting in a production file must not
// be ignored silently.
type Serve struct {
	File string // absolute path of the cairn.toml
	Dir  string // its directory

	DataDir         string        // "" if the file has none (a flag or CAIRN_DATA_DIR must give it)
	ShutdownTimeout time.Duration // default DefaultShutdownTimeout
	LogFormat       string        // "text" (default) or "json"

	HTTP  string // listen address of the Workers over HTTP; default DefaultHTTPAddr
	HTTPS string // listen address over HTTPS; "" for none
	// CertFile and KeyFile are the HTTPS certificate chain and key (PEM).
	CertFile, KeyFile string

	Admin      string // listen address of the admin API; "" for none
	AdminToken string // bearer token of the admin API

	Workers []ServeWorker
}

// ServeWorker is one [[workers]] entry of a cairn.toml.
type ServeWorker struct {
	Config string // the wrangler config file or its directory, absolute
	// Routes replace the routes of the Worker's own config when
	// HasRoutes is set (routes = [] routes nothing to it).
	Routes    []Route
	HasRoutes bool
	Vars      map[string]string // override the config's vars
	Line      int               // the line of the entry, for errors about it
}

// Route is one route of a Worker, in wrangler's syntax: a pattern such as
// "example.com/*", "*.example.com/api/*" or "https://example.com/x", or a
// custom domain (a hostname that the Worker serves whole).
type Route struct {
	Pattern      string
	ZoneName     string // zone_name, kept for reference; cairn matches the pattern alone
	ZoneID       string // zone_id, likewise
	CustomDomain bool
	// Where the route was written, for errors about it.
	File string
	Line int
}

// Defaults of a cairn.toml.
const (
	DefaultShutdownTimeout = 30 * time.Second
	DefaultHTTPAddr        = "127.0.0.1:8080"
)

// LoadServe reads a cairn.toml. Errors name the file and line.
func LoadServe(file string) (*Serve, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load serve config: %w", err)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("load serve config: %w", err)
	}
	if ext := filepath.Ext(file); ext != ".toml" {
		return nil, &Error{File: file, Msg: fmt.Sprintf("a cairn serve config is TOML (cairn.toml), got %q", ext)}
	}
	doc, err := parseTOML(file, src)
	if err != nil {
		return nil, err
	}
	d := &decoder{document: doc, warn: func(string) {}}
	s := &Serve{File: abs, Dir: filepath.Dir(abs)}
	if err := d.decodeServe(s); err != nil {
		return nil, err
	}
	return s, nil
}

func (d *decoder) decodeServe(s *Serve) error {
	root := d.root
	if err := d.strictKeys("", root, "data_dir", "shutdown_timeout", "log_format", "http", "https", "admin", "workers"); err != nil {
		return err
	}
	dir, err := d.str(root, "", "data_dir")
	if err != nil {
		return err
	}
	if dir != "" { // else --data-dir or CAIRN_DATA_DIR must give it
		s.DataDir = d.resolve(s.Dir, dir)
	}
	if s.ShutdownTimeout, err = d.duration(root, "", "shutdown_timeout", DefaultShutdownTimeout); err != nil {
		return err
	}
	if s.LogFormat, err = d.oneOf(root, "", "log_format", "text", "json"); err != nil {
		return err
	}
	if s.LogFormat == "" {
		s.LogFormat = "text"
	}

	httpT, err := d.object(root, "", "http")
	if err != nil {
		return err
	}
	if err := d.strictKeys("http", httpT, "listen"); err != nil {
		return err
	}
	if s.HTTP, err = d.addr(httpT, "http", "listen"); err != nil {
		return err
	}
	if s.HTTP == "" {
		s.HTTP = DefaultHTTPAddr
	}

	if _, ok := root["https"]; ok {
		t, err := d.object(root, "", "https")
		if err != nil {
			return err
		}
		if err := d.strictKeys("https", t, "listen", "cert_file", "key_file"); err != nil {
			return err
		}
		if s.HTTPS, err = d.addr(t, "https", "listen"); err != nil {
			return err
		}
		if s.HTTPS == "" {
			return d.errorf("https", `[https] needs "listen", e.g. "0.0.0.0:8443"`)
		}
		for _, k := range []struct {
			key string
			to  *string
		}{{"cert_file", &s.CertFile}, {"key_file", &s.KeyFile}} {
			v, err := d.required(t, "https", k.key)
			if err != nil {
				return err
			}
			*k.to = d.resolve(s.Dir, v)
			if _, err := os.Stat(*k.to); err != nil {
				return d.errorf("https."+k.key, "https.%s: %v", k.key, err)
			}
		}
	}

	if _, ok := root["admin"]; ok {
		t, err := d.object(root, "", "admin")
		if err != nil {
			return err
		}
		if err := d.strictKeys("admin", t, "listen", "token"); err != nil {
			return err
		}
		if s.Admin, err = d.addr(t, "admin", "listen"); err != nil {
			return err
		}
		if s.AdminToken, err = d.str(t, "admin", "token"); err != nil {
			return err
		}
	}

	v, ok := root["workers"]
	if !ok {
		return &Error{File: d.file, Msg: `no [[workers]]: add one with config = "path/to/wrangler.jsonc"`}
	}
	list, ok := v.([]any)
	if !ok {
		return d.errorf("workers", `"workers" must be an array of tables ([[workers]]), got %s`, typeName(v))
	}
	for i, x := range list {
		p := index("workers", i)
		m, ok := x.(map[string]any)
		if !ok {
			return d.errorf(p, "%s must be a table, got %s", p, typeName(x))
		}
		if err := d.strictKeys(p, m, "config", "routes", "vars"); err != nil {
			return err
		}
		w := ServeWorker{Line: d.line(p)}
		cfg, err := d.required(m, p, "config")
		if err != nil {
			return err
		}
		w.Config = d.resolve(s.Dir, cfg)
		if _, err := os.Stat(w.Config); err != nil {
			return d.errorf(join(p, "config"), "%s.config: %v", p, err)
		}
		if _, ok := m["routes"]; ok {
			w.HasRoutes = true
			if w.Routes, err = d.routes(m, p, "routes"); err != nil {
				return err
			}
		}
		vars, err := d.object(m, p, "vars")
		if err != nil {
			return err
		}
		for k, v := range vars {
			str, ok := v.(string)
			if !ok {
				return d.errorf(join(join(p, "vars"), k), "%s.vars.%s must be a string, got %s", p, k, typeName(v))
			}
			if w.Vars == nil {
				w.Vars = make(map[string]string)
			}
			w.Vars[k] = str
		}
		s.Workers = append(s.Workers, w)
	}
	if len(s.Workers) == 0 {
		return d.errorf("workers", `no [[workers]]: add one with config = "path/to/wrangler.jsonc"`)
	}
	return nil
}

// strictKeys fails on the first key of m (at path) not in keys.
func (d *decoder) strictKeys(path string, m map[string]any, keys ...string) error {
	var bad []string
	for k := range m {
		if !slices.Contains(keys, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.SortFunc(bad, func(a, b string) int { return d.line(join(path, a)) - d.line(join(path, b)) })
	where := "the top level"
	if path != "" {
		where = path
	}
	return d.errorf(join(path, bad[0]), "unknown key %q in %s (known: %s)", bad[0], where, strings.Join(keys, ", "))
}

// resolve makes p absolute against dir.
func (d *decoder) resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// duration reads a Go duration string such as "30s" (def if absent).
func (d *decoder) duration(m map[string]any, path, key string, def time.Duration) (time.Duration, error) {
	s, err := d.str(m, path, key)
	if err != nil || s == "" {
		return def, err
	}
	t, err := time.ParseDuration(s)
	if err != nil || t <= 0 {
		return 0, d.errorf(join(path, key), "%q must be a positive duration such as \"30s\", got %q", join(path, key), s)
	}
	return t, nil
}

// addr reads a listen address, host:port.
func (d *decoder) addr(m map[string]any, path, key string) (string, error) {
	s, err := d.str(m, path, key)
	if err != nil || s == "" {
		return s, err
	}
	if err := CheckListenAddr(s); err != nil {
		return "", d.errorf(join(path, key), "%s: %v", join(path, key), err)
	}
	return s, nil
}

// CheckListenAddr checks a listen address: host:port, host optional.
func CheckListenAddr(s string) error {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return fmt.Errorf("listen address %q: want host:port, e.g. 0.0.0.0:8080", s)
	}
	port := s[i+1:]
	if port == "" || strings.Trim(port, "0123456789") != "" || len(port) > 5 {
		return fmt.Errorf("listen address %q: the port must be a number", s)
	}
	return nil
}

// LoadRoutes reads the routes of a wrangler config: "routes" (patterns,
// {pattern, zone_name | zone_id} and {pattern, custom_domain: true}) or
// "route" (one pattern). Load does not read them: only cairn serve does.
func LoadRoutes(file string) ([]Route, error) {
	src, err := os.ReadFile(file)
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
	d := &decoder{document: doc, warn: func(string) {}}
	if r, ok := d.root["route"]; ok {
		if _, both := d.root["routes"]; both {
			return nil, d.errorf("route", `set "route" or "routes", not both`)
		}
		s, ok := r.(string)
		if !ok {
			return nil, d.errorf("route", `"route" must be a string, got %s`, typeName(r))
		}
		return d.routeList([]any{s}, "route")
	}
	return d.routes(d.root, "", "routes")
}

// routes reads an array of routes at m[key].
func (d *decoder) routes(m map[string]any, path, key string) ([]Route, error) {
	v, ok := m[key]
	if !ok {
		return nil, nil
	}
	p := join(path, key)
	a, ok := v.([]any)
	if !ok {
		return nil, d.errorf(p, "%q must be an array of route patterns, got %s", p, typeName(v))
	}
	return d.routeList(a, p)
}

func (d *decoder) routeList(a []any, p string) ([]Route, error) {
	out := make([]Route, 0, len(a))
	for i, x := range a {
		ip := index(p, i)
		if len(a) == 1 && p == "route" {
			ip = p
		}
		r := Route{File: d.file, Line: d.line(ip)}
		switch t := x.(type) {
		case string:
			r.Pattern = t
		case map[string]any:
			if err := d.strictKeys(ip, t, "pattern", "zone_name", "zone_id", "custom_domain"); err != nil {
				return nil, err
			}
			var err error
			if r.Pattern, err = d.required(t, ip, "pattern"); err != nil {
				return nil, err
			}
			if r.ZoneName, err = d.str(t, ip, "zone_name"); err != nil {
				return nil, err
			}
			if r.ZoneID, err = d.str(t, ip, "zone_id"); err != nil {
				return nil, err
			}
			if cd, ok := t["custom_domain"]; ok {
				b, ok := cd.(bool)
				if !ok {
					return nil, d.errorf(join(ip, "custom_domain"), "%s.custom_domain must be a boolean, got %s", ip, typeName(cd))
				}
				r.CustomDomain = b
			}
		default:
			return nil, d.errorf(ip, "%s must be a pattern string or {pattern, zone_name}, got %s", ip, typeName(x))
		}
		if err := CheckRoute(r); err != nil {
			return nil, d.errorf(ip, "%s: %v", ip, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// ErrRoute is the error of a route pattern Cloudflare would refuse.
var ErrRoute = errors.New("invalid route")

// CheckRoute checks a route as Cloudflare does: "*" only at the start of
// the hostname and at the end of the path, no query string; a custom domain
// is a hostname alone.
func CheckRoute(r Route) error {
	p := r.Pattern
	if p == "" {
		return fmt.Errorf("%w: empty pattern", ErrRoute)
	}
	if r.CustomDomain {
		if strings.ContainsAny(p, "/*:?") {
			return fmt.Errorf("%w: custom domain %q must be a hostname alone (no scheme, path or wildcard)", ErrRoute, p)
		}
		return nil
	}
	rest := p
	if s, after, ok := strings.Cut(rest, "://"); ok {
		if s != "http" && s != "https" {
			return fmt.Errorf("%w: pattern %q: the scheme must be http or https", ErrRoute, p)
		}
		rest = after
	}
	if strings.Contains(rest, "?") {
		return fmt.Errorf("%w: pattern %q: a route may not contain a query string", ErrRoute, p)
	}
	host, path, _ := strings.Cut(rest, "/")
	if host == "" || host == "*" && path == "" {
		return fmt.Errorf("%w: pattern %q has no hostname (want e.g. example.com/*)", ErrRoute, p)
	}
	if strings.Contains(strings.TrimPrefix(host, "*"), "*") {
		return fmt.Errorf("%w: pattern %q: \"*\" may only start the hostname", ErrRoute, p)
	}
	if strings.Contains(strings.TrimSuffix(path, "*"), "*") {
		return fmt.Errorf("%w: pattern %q: \"*\" may only end the path (no infix wildcards)", ErrRoute, p)
	}
	return nil
}
