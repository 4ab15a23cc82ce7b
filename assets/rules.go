package assets

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Limits of the _headers and _redirects files, as on Cloudflare.
const (
	maxLineLength      = 2000
	maxHeaderRules     = 100
	maxStaticRedirects = 2000
	maxDynamicRedirect = 100
	maxRoutingRules    = 100
	maxRoutingRuleLen  = 100
)

// A pattern matches a request path (or, when it starts with https://, its
// host and path): * matches anything and binds :splat, :name one path
// segment (one host label in the host).
type pattern struct {
	text      string
	crossHost bool
	re        *regexp.Regexp
}

var placeholder = regexp.MustCompile(`:([A-Za-z]\w*)`)

func compilePattern(text string) (*pattern, error) {
	p := &pattern{text: text, crossHost: strings.HasPrefix(text, "https://")}
	host, rest := "", text
	if p.crossHost {
		i := strings.IndexByte(text[len("https://"):], '/')
		if i < 0 {
			return nil, fmt.Errorf("%q: want https://host/path", text)
		}
		host, rest = text[:len("https://")+i], text[len("https://")+i:]
	}
	var b strings.Builder
	b.WriteString("^")
	part := func(s, segment string) {
		chunks := strings.Split(s, "*")
		for i, c := range chunks {
			if i > 0 {
				b.WriteString("(?P<splat>.*)")
			}
			last := 0
			for _, m := range placeholder.FindAllStringSubmatchIndex(c, -1) {
				b.WriteString(regexp.QuoteMeta(c[last:m[0]]))
				fmt.Fprintf(&b, "(?P<%s>%s)", c[m[2]:m[3]], segment)
				last = m[1]
			}
			b.WriteString(regexp.QuoteMeta(c[last:]))
		}
	}
	part(host, "[^/.]+")
	part(rest, "[^/]+")
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("%q: %w", text, err)
	}
	p.re = re
	return p, nil
}

// match matches the pattern against a request's host and path, returning
// the placeholders' values.
func (p *pattern) match(host, urlPath string) (map[string]string, bool) {
	s := urlPath
	if p.crossHost {
		s = "https://" + host + urlPath
	}
	m := p.re.FindStringSubmatch(s)
	if m == nil {
		return nil, false
	}
	vals := make(map[string]string)
	for i, name := range p.re.SubexpNames() {
		if name != "" {
			vals[name] = m[i]
		}
	}
	return vals, true
}

// replace substitutes :name placeholders in s with vals.
func replace(s string, vals map[string]string) string {
	for k, v := range vals {
		s = strings.ReplaceAll(s, ":"+k, v)
	}
	return s
}

// headerRule is one path block of _headers.
type headerRule struct {
	pat   *pattern
	set   [][2]string // name, value; in order
	unset []string
}

// redirectRule is one line of _redirects.
type redirectRule struct {
	pat    *pattern
	to     string
	status int
	line   int
}

// rulesFile reads a special file's lines; a missing file is empty.
func rulesFile(p string) ([]string, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// parseHeaders parses a _headers file: a line starting with / or
// https:// opens a rule, the indented "Name: value" lines after it add
// headers, "! Name" removes one. Invalid lines are skipped and reported to
// warn with their file:line.
func parseHeaders(file string, lines []string, warn func(string)) []*headerRule {
	var rules []*headerRule
	var cur *headerRule
	skip := false
	bad := func(n int, format string, args ...any) {
		warn(fmt.Sprintf("%s:%d: %s; line ignored", file, n, fmt.Sprintf(format, args...)))
	}
	flush := func() {
		if cur != nil && (len(cur.set) > 0 || len(cur.unset) > 0) {
			rules = append(rules, cur)
		}
		cur = nil
	}
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) > maxLineLength {
			bad(n, "longer than %d characters", maxLineLength)
			continue
		}
		if strings.HasPrefix(line, "/") || strings.Contains(strings.SplitN(line, " ", 2)[0], "://") {
			flush()
			skip = false
			if len(rules) >= maxHeaderRules {
				bad(n, "more than %d rules; the rest of the file", maxHeaderRules)
				break
			}
			if strings.Count(line, "*") > 1 {
				bad(n, "only one * is allowed per rule; use a :placeholder")
				skip = true
				continue
			}
			pat, err := compilePattern(line)
			if err != nil {
				bad(n, "%v", err)
				skip = true
				continue
			}
			cur = &headerRule{pat: pat}
			continue
		}
		if skip {
			continue
		}
		if cur == nil {
			bad(n, "expected a path beginning with /")
			continue
		}
		if strings.HasPrefix(line, "! ") {
			cur.unset = append(cur.unset, strings.TrimSpace(line[2:]))
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		switch {
		case !ok:
			bad(n, "expected a header pair (name: value)")
		case name == "" || strings.ContainsAny(name, " \t"):
			bad(n, "invalid header name %q", name)
		case value == "":
			bad(n, "no value for header %q", name)
		default:
			cur.set = append(cur.set, [2]string{name, value})
		}
	}
	flush()
	return rules
}

// applyHeaders applies the rules matching the request to h, in order: a
// header set by an earlier rule is appended to, others are replaced.
func applyHeaders(rules []*headerRule, host, urlPath string, h http.Header) {
	set := make(map[string]bool)
	for _, r := range rules {
		vals, ok := r.pat.match(host, urlPath)
		if !ok {
			continue
		}
		for _, name := range r.unset {
			h.Del(name)
		}
		for _, kv := range r.set {
			v := replace(kv[1], vals)
			if set[kv[0]] {
				h.Add(kv[0], v)
			} else {
				h.Set(kv[0], v)
				set[kv[0]] = true
			}
		}
	}
}

// redirects is a parsed _redirects file: exact paths looked up first, then
// the rules with * or :placeholders in order.
type redirects struct {
	static  map[string]*redirectRule
	dynamic []*redirectRule
}

var permittedStatus = map[int]bool{200: true, 301: true, 302: true, 303: true, 307: true, 308: true}

var inlineComment = regexp.MustCompile(`\s+#.*$`)

// parseRedirects parses a _redirects file: "from to [status]" lines
// (status 302 by default; 200 serves the target's asset at from).
func parseRedirects(file string, lines []string, htmlHandling string, warn func(string)) *redirects {
	rd := &redirects{static: make(map[string]*redirectRule)}
	bad := func(n int, format string, args ...any) {
		warn(fmt.Sprintf("%s:%d: %s; line ignored", file, n, fmt.Sprintf(format, args...)))
	}
	staticOK := true
	seen := make(map[string]bool)
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) > maxLineLength {
			bad(n, "longer than %d characters", maxLineLength)
			continue
		}
		tok := strings.Fields(inlineComment.ReplaceAllString(line, ""))
		if len(tok) < 2 || len(tok) > 3 {
			bad(n, "expected 2 or 3 whitespace-separated tokens, got %d", len(tok))
			continue
		}
		from, to := tok[0], tok[1]
		status := 302
		if len(tok) == 3 {
			s, err := strconv.Atoi(tok[2])
			if err != nil || !permittedStatus[s] {
				bad(n, "valid status codes are 200, 301, 302 (default), 303, 307 or 308, got %s", tok[2])
				continue
			}
			status = s
		}
		if !strings.HasPrefix(from, "/") && !strings.HasPrefix(from, "https://") {
			bad(n, "the source %q must be a path starting with / or an https:// URL", from)
			continue
		}
		hasHost := strings.Contains(to, "://")
		if !hasHost && !strings.HasPrefix(to, "/") {
			bad(n, "the destination %q must be a path starting with / or a URL", to)
			continue
		}
		if !hasHost && (strings.HasSuffix(from, "/*") && indexTarget.MatchString(to) ||
			strings.HasSuffix(from, "/") && indexTarget.MatchString(to) && htmlHandling != "none") {
			bad(n, "infinite loop: html_handling strips /index from %q and this rule would match again", to)
			continue
		}
		if status == 200 && hasHost {
			bad(n, "proxy (200) rules can only point to relative paths, got %s", to)
			continue
		}
		if seen[from] {
			bad(n, "duplicate rule for %s", from)
			continue
		}
		seen[from] = true
		dynamic := strings.Contains(from, "*") || placeholder.MatchString(from)
		if staticOK && !dynamic {
			if len(rd.static) >= maxStaticRedirects {
				bad(n, "more than %d static rules", maxStaticRedirects)
				continue
			}
			rd.static[from] = &redirectRule{to: to, status: status, line: n}
			continue
		}
		staticOK = false // order matters from the first dynamic rule on
		if len(rd.dynamic) >= maxDynamicRedirect {
			bad(n, "more than %d dynamic rules; the rest of the file", maxDynamicRedirect)
			break
		}
		pat, err := compilePattern(from)
		if err != nil {
			bad(n, "%v", err)
			continue
		}
		rd.dynamic = append(rd.dynamic, &redirectRule{pat: pat, to: to, status: status, line: n})
	}
	return rd
}

var indexTarget = regexp.MustCompile(`/index(\.html)?$`)

var multiSlash = regexp.MustCompile(`/+`)

// match finds the rule for a request and returns its destination with
// placeholders filled in.
func (rd *redirects) match(host, urlPath string) (to string, status int, ok bool) {
	if rd == nil || len(rd.static) == 0 && len(rd.dynamic) == 0 {
		return "", 0, false
	}
	a, b := rd.static["https://"+host+urlPath], rd.static[urlPath]
	if a != nil && (b == nil || a.line < b.line) {
		b = a
	}
	if b != nil {
		return b.to, b.status, true
	}
	for _, r := range rd.dynamic {
		if vals, ok := r.pat.match(host, urlPath); ok {
			to := strings.TrimSpace(replace(r.to, vals))
			if !strings.Contains(to, "://") {
				to = multiSlash.ReplaceAllString(to, "/")
			}
			return to, r.status, true
		}
	}
	return "", 0, false
}

// routing is run_worker_first given as patterns: the Worker runs first
// for paths matching a rule, unless a !rule matches too.
type routing struct {
	worker, assets []*regexp.Regexp
}

// parseRouting checks and compiles run_worker_first rules.
func parseRouting(rules []string) (*routing, error) {
	if len(rules) == 0 {
		return nil, errors.New("run_worker_first has no rules; give at least one, or true/false")
	}
	if len(rules) > maxRoutingRules {
		return nil, fmt.Errorf("run_worker_first has %d rules, more than the %d allowed", len(rules), maxRoutingRules)
	}
	rt := &routing{}
	seen := make(map[string]bool)
	for _, r := range rules {
		if len(r) > maxRoutingRuleLen {
			return nil, fmt.Errorf("run_worker_first rule %q is longer than %d characters", r, maxRoutingRuleLen)
		}
		if seen[r] {
			return nil, fmt.Errorf("run_worker_first rule %q is a duplicate", r)
		}
		seen[r] = true
		glob := func(s string) *regexp.Regexp {
			parts := strings.Split(s, "*")
			for i, p := range parts {
				parts[i] = regexp.QuoteMeta(p)
			}
			return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
		}
		switch {
		case strings.HasPrefix(r, "!/"):
			rt.assets = append(rt.assets, glob(r[1:]))
		case strings.HasPrefix(r, "/"):
			rt.worker = append(rt.worker, glob(r))
		case strings.HasPrefix(r, "!"):
			return nil, fmt.Errorf("run_worker_first rule %q: negative rules must start with '!/'", r)
		default:
			return nil, fmt.Errorf("run_worker_first rule %q: rules must start with '/' or '!/'", r)
		}
	}
	if len(rt.worker) == 0 {
		return nil, errors.New("run_worker_first has only negative rules; give at least one rule starting with '/'")
	}
	return rt, nil
}

// workerFirst reports whether the rules send urlPath to the Worker
// (decided true), to the assets (decided false), or leave it open.
func (rt *routing) workerFirst(urlPath string) (worker, decided bool) {
	for _, re := range rt.assets {
		if re.MatchString(urlPath) {
			return false, true
		}
	}
	for _, re := range rt.worker {
		if re.MatchString(urlPath) {
			return true, true
		}
	}
	return false, false
}
