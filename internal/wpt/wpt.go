// Package wpt runs web-platform-tests (WPT) testharness.js tests in cairn's
// JS runtime and counts their subtests, to measure how much of a Web API
// cairn implements (cmd/wpt is its command line).
//
// Each test file (a .any.js file of a WPT checkout, or with Runner.HTML an
// .html test whose page is only scripts) runs as a Worker of its own in a
// fresh jsrt.Worker: the script is WPT's resources/testharness.js, a small
// shim that makes the harness report to the Worker, the files named by the
// test's "// META: script=" lines (or the page's <script> elements), and the
// test itself. Files that cannot run without WPT's own server or a DOM are
// skipped with their reason (see Skip). One request
// to the Worker runs the tests and answers with their results as JSON. The
// harness's own timeout does not apply in a shell, so Runner.Timeout ends a
// file's tests (testharness's timeout(): unfinished tests count as TIMEOUT).
//
// The WPT checkout is not part of cairn; the runner takes its root.
package wpt

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/jsrt"
)

// ErrNoHarness is returned when the WPT root has no resources/testharness.js.
var ErrNoHarness = errors.New("no resources/testharness.js under the WPT root")

// Status names a subtest outcome as testharness.js does.
type Status string

// The outcomes of a subtest.
const (
	Pass    Status = "PASS"
	Fail    Status = "FAIL"
	Timeout Status = "TIMEOUT"
	NotRun  Status = "NOTRUN"
)

// Subtest is the outcome of one test() / promise_test() of a file.
type Subtest struct {
	Name    string `json:"name"`
	Status  Status `json:"status"`
	Message string `json:"message,omitempty"`
}

// Result is the outcome of one test file. Error is set when the file could
// not run to completion (a script failed to load, the harness reported an
// error, or the Worker did not answer); its subtests still count.
type Result struct {
	File     string    // path relative to the WPT root, with slashes
	Subtests []Subtest // in the order the harness reported them
	Error    string
	Skipped  string // why the file did not run (see Skip); no subtests then
	Elapsed  time.Duration
}

// Counts are subtest totals.
type Counts struct {
	Files, Pass, Fail, Errors int // Fail counts FAIL, TIMEOUT and NOTRUN; Errors counts files with an Error
	Skipped                   int // files not run (counted apart from Files)
}

// Count adds up r's subtests.
func (r Result) Count() Counts {
	if r.Skipped != "" {
		return Counts{Skipped: 1}
	}
	c := Counts{Files: 1}
	for _, s := range r.Subtests {
		if s.Status == Pass {
			c.Pass++
		} else {
			c.Fail++
		}
	}
	if r.Error != "" {
		c.Errors++
	}
	return c
}

// Add returns the sum of c and d.
func (c Counts) Add(d Counts) Counts {
	return Counts{c.Files + d.Files, c.Pass + d.Pass, c.Fail + d.Fail, c.Errors + d.Errors, c.Skipped + d.Skipped}
}

// Runner runs test files of one WPT checkout.
type Runner struct {
	Root    string        // the WPT checkout: has resources/testharness.js
	Timeout time.Duration // for one file (×6 for timeout=long); default 10s
	Logger  *slog.Logger  // the Workers' log (console output); default discards
	HTML    bool          // also run .html tests (their scripts, without a DOM)
	// Skip says which files not to run and why: a file is skipped when its
	// path starts with a key (or equals it). Nil means DefaultSkips.
	Skip map[string]string
}

// Files lists the test files under dir (relative to the root, or a single
// file), sorted: .any.js files, and .html files when r.HTML is set.
func (r *Runner) Files(dir string) ([]string, error) {
	root := filepath.Join(r.Root, filepath.FromSlash(dir))
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("wpt: %w", err)
	}
	if !info.IsDir() {
		return []string{path.Clean(filepath.ToSlash(dir))}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "resources" && p != root {
			return fs.SkipDir // support files, not tests
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".any.js") || r.HTML && strings.HasSuffix(p, ".html")) {
			rel, err := filepath.Rel(r.Root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wpt: list %s: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}

// meta is what a test file's "// META:" lines say.
type meta struct {
	title   string
	scripts []string // as written: relative to the file, or absolute from the root
	long    bool     // timeout=long
}

// parseMeta reads the META comments at the top of a test file.
func parseMeta(src string) meta {
	var m meta
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		rest, ok := strings.CutPrefix(line, "// META:")
		if !ok {
			if strings.HasPrefix(line, "//") {
				continue
			}
			break
		}
		key, value, _ := strings.Cut(strings.TrimSpace(rest), "=")
		switch strings.TrimSpace(key) {
		case "title":
			m.title = strings.TrimSpace(value)
		case "script":
			m.scripts = append(m.scripts, strings.TrimSpace(value))
		case "timeout":
			m.long = strings.TrimSpace(value) == "long"
		}
	}
	return m
}

// fallbacks stand in for WPT support scripts a partial checkout may lack.
// They are cairn's own minimal versions: every subset runs.
var fallbacks = map[string]string{
	"common/subset-tests.js": `function shouldRunSubTest() { return true; }
function subsetTest(testFunc, ...args) { return testFunc(...args); }
function subsetTestByKey(key, testFunc, ...args) { return testFunc(...args); }`,
	"common/gc.js": `self.garbageCollect = async () => {};`,
}

// shimBefore runs before testharness.js: a worker-like global that is not
// a window, so the harness picks its shell environment.
const shimBefore = `var self = globalThis;
globalThis.self = globalThis;
globalThis.GLOBAL = { isWindow: () => false, isWorker: () => true, isShadowRealm: () => false };
`

// baseShim gives the tests the base URL a page or a dedicated worker has and
// a Worker has not: location, and relative string URLs in new Request
// resolved against it (on Cloudflare, as in cairn, they throw). It runs after
// testharness.js, which takes a global location for a window's. It is a
// harness adaptation, not a claim about cairn: the tests that use relative
// URLs test other things. __WPT_URL__ is replaced by the test's URL.
const baseShim = `globalThis.location = new URL(__WPT_URL__);
globalThis.Request = new Proxy(globalThis.Request, {
  construct(target, args, newTarget) {
    if (typeof args[0] === "string") args[0] = new URL(args[0], globalThis.location.href).href;
    return Reflect.construct(target, args, newTarget);
  },
});
`

// shimAfter hooks the harness's completion and answers the request with
// the results. __WPT_TIMEOUT__ is replaced by the file's budget in ms.
const shimAfter = `
var __wptResults = new Promise(function (resolve) {
  add_completion_callback(function (tests, status) {
    resolve({
      tests: tests.map(function (t) {
        return { name: String(t.name), status: ["PASS", "FAIL", "TIMEOUT", "NOTRUN", "PRECONDITION_FAILED"][t.status] || "FAIL", message: t.message ? String(t.message) : "" };
      }),
      status: status.status, message: status.message ? String(status.message) : "",
    });
  });
});
`

const shimServe = `
done();
exports.default = {
  fetch: function () {
    var timer = setTimeout(function () { timeout(); }, __WPT_TIMEOUT__);
    return __wptResults.then(function (r) { clearTimeout(timer); return new Response(JSON.stringify(r)); });
  },
};
`

// script returns the Worker script that runs file, and its time budget:
// six times budget for a test marked timeout=long (WPT gives those 60 s
// instead of 10 s).
func (r *Runner) script(file string, budget time.Duration) (string, time.Duration, error) {
	src, err := os.ReadFile(filepath.Join(r.Root, filepath.FromSlash(file)))
	if err != nil {
		return "", 0, fmt.Errorf("read test: %w", err)
	}
	harness, err := os.ReadFile(filepath.Join(r.Root, "resources", "testharness.js"))
	if err != nil {
		return "", 0, ErrNoHarness
	}
	var m meta
	var inline []string // an .html test's inline scripts, in order, after m.scripts
	if strings.HasSuffix(file, ".html") {
		m, inline = parseHTML(string(src))
	} else {
		m = parseMeta(string(src))
	}
	if m.long {
		budget *= 6
	}
	var b strings.Builder
	b.WriteString(shimBefore)
	if m.title != "" {
		fmt.Fprintf(&b, "globalThis.META_TITLE = %q;\n", m.title)
	}
	b.Write(harness)
	b.WriteString(shimAfter)
	b.WriteString(strings.Replace(baseShim, "__WPT_URL__", fmt.Sprintf("%q", "http://wpt.test/"+file), 1))
	for _, s := range m.scripts {
		var rel string
		if strings.HasPrefix(s, "/") {
			rel = path.Clean(strings.TrimPrefix(s, "/"))
		} else {
			rel = path.Join(path.Dir(file), s)
		}
		code, err := os.ReadFile(filepath.Join(r.Root, filepath.FromSlash(rel)))
		if err != nil {
			fb, ok := fallbacks[rel]
			if !ok {
				return "", 0, fmt.Errorf("META script %s: %w", s, err)
			}
			code = []byte(fb)
		}
		fmt.Fprintf(&b, "\n// ---- %s\n", rel)
		b.Write(code)
		b.WriteString("\n;\n")
	}
	if inline != nil {
		for i, code := range inline {
			fmt.Fprintf(&b, "\n// ---- %s <script> %d\n", file, i+1)
			b.WriteString(code)
			b.WriteString("\n;\n")
		}
	} else {
		fmt.Fprintf(&b, "\n// ---- %s\n", file)
		b.Write(src)
		b.WriteString("\n;\n")
	}
	b.WriteString(strings.Replace(shimServe, "__WPT_TIMEOUT__", fmt.Sprint(budget.Milliseconds()), 1))
	return b.String(), budget, nil
}

// harnessStatus names testharness's overall status codes.
var harnessStatus = []string{"OK", "ERROR", "TIMEOUT", "PRECONDITION_FAILED"}

// RunFile runs one test file in a Worker of its own.
func (r *Runner) RunFile(ctx context.Context, file string) (res Result) {
	start := time.Now()
	res.File = file
	if why := r.skipped(file); why != "" {
		res.Skipped = why
		return res
	}
	defer func() { res.Elapsed = time.Since(start) }()
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	code, timeout, err := r.script(file, timeout)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w, err := jsrt.New(jsrt.Config{
		Name: "wpt", Code: code, Filename: file, Runtimes: 1,
		CPULimit: timeout + 30*time.Second, Logger: logger,
	})
	if err != nil {
		res.Error = "load: " + firstLine(err.Error())
		return res
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	resp, err := w.Fetch(ctx, httptest.NewRequest("GET", "http://wpt.test/"+file, nil))
	if err != nil {
		res.Error = "run: " + firstLine(err.Error())
		return res
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		res.Error = "read results: " + err.Error()
		return res
	}
	var out struct {
		Tests   []Subtest `json:"tests"`
		Status  int       `json:"status"`
		Message string    `json:"message"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
		res.Error = fmt.Sprintf("no results (HTTP %d): %s", resp.StatusCode, firstLine(string(body)))
		return res
	}
	res.Subtests = out.Tests
	if out.Status != 0 {
		name := "status " + fmt.Sprint(out.Status)
		if out.Status > 0 && out.Status < len(harnessStatus) {
			name = harnessStatus[out.Status]
		}
		res.Error = "harness " + name + ": " + firstLine(out.Message)
	}
	return res
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Dir is the directory a result is reported under: the file's directory
// relative to the root.
func Dir(file string) string { return path.Dir(file) }

// scriptTag matches a <script> element: its attributes and its text.
var scriptTag = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)

// srcAttr matches a src attribute's value.
var srcAttr = regexp.MustCompile(`(?i)\bsrc\s*=\s*["']?([^"' >]+)`)

// titleTag matches an HTML page's <title>.
var titleTag = regexp.MustCompile(`(?is)<title>(.*?)</title>`)

// parseHTML reads an .html test page: the scripts it loads (but the harness
// and its report script, which the runner provides), its title and its
// inline scripts in order. The page's markup is not rendered: tests that
// need a DOM are in the skip list.
func parseHTML(src string) (meta, []string) {
	var m meta
	inline := []string{}
	if t := titleTag.FindStringSubmatch(src); t != nil {
		m.title = strings.TrimSpace(t[1])
	}
	m.long = strings.Contains(src, `name="timeout" content="long"`)
	for _, tag := range scriptTag.FindAllStringSubmatch(src, -1) {
		if s := srcAttr.FindStringSubmatch(tag[1]); s != nil {
			if base := path.Base(s[1]); base == "testharness.js" || base == "testharnessreport.js" {
				continue
			}
			m.scripts = append(m.scripts, s[1])
			continue
		}
		inline = append(inline, tag[2])
	}
	return m, inline
}

// skipped says why file is not to be run, or "".
func (r *Runner) skipped(file string) string {
	skips := r.Skip
	if skips == nil {
		skips = DefaultSkips
	}
	best, found := "", false
	for prefix := range skips {
		if (file == prefix || strings.HasPrefix(file, strings.TrimSuffix(prefix, "/")+"/") || strings.HasSuffix(prefix, "*") && strings.HasPrefix(file, strings.TrimSuffix(prefix, "*"))) && len(prefix) >= len(best) {
			best, found = prefix, true
		}
	}
	if found {
		return skips[best]
	}
	if strings.Contains(path.Base(file), ".sub.") {
		return reasonSub
	}
	return ""
}
