//go:build test262

package jsrt

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// The test262 conformance run over test/built-ins, before (goja alone) and
// after (goja with the prelude's language built-ins: 00_symbols.js,
// 01_polyfill.js loaded eagerly, 02_weakref.js). It fetches nothing: get test262 with
//
//	git clone --depth 1 https://github.com/tc39/test262 /tmp/test262
//
// and run (about 10 minutes on two cores)
//
//	go test -tags "test262 sqlite_fts5 sqlite_math_functions" ./jsrt -run TestTest262 -v -timeout 60m \
//	    -test262.dir /tmp/test262 [-test262.filter built-ins/Promise] [-test262.out table.md]
//
// It reports, per built-in (the directory under test/built-ins), how many
// tests pass. Tests of proposals (the features test262's features.txt lists
// before "Standard language features") are skipped. Each test runs once: in strict mode if its flags say
// onlyStrict, else in sloppy mode. Module tests are skipped (Workers'
// modules are bundled into a script before goja sees them).
var (
	test262Dir    = flag.String("test262.dir", "", "a checkout of tc39/test262")
	test262Filter = flag.String("test262.filter", "built-ins/", "run the tests whose path under test/ starts with this")
	test262Out    = flag.String("test262.out", "", "also write the table (Markdown) to this file")
	test262Min    = flag.String("test262.min", "", "comma-separated built-ins that must pass ≥95% after (e.g. Promise,Iterator)")
)

// test262Meta is the part of a test's YAML front matter the runner needs.
type test262Meta struct {
	includes      []string
	features      []string
	flags         map[string]bool
	negativePhase string
	negativeType  string
}

// parseTest262Meta reads the /*--- … ---*/ front matter. It understands the
// forms test262 uses for includes, flags and negative: inline lists
// ([a, b]) and block lists (- a).
func parseTest262Meta(src string) test262Meta {
	m := test262Meta{flags: map[string]bool{}}
	start := strings.Index(src, "/*---")
	end := strings.Index(src, "---*/")
	if start < 0 || end < start {
		return m
	}
	var key string
	for _, line := range strings.Split(src[start+5:end], "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		if !indented {
			k, v, _ := strings.Cut(trimmed, ":")
			key = k
			v = strings.TrimSpace(v)
			if strings.HasPrefix(v, "[") {
				for _, item := range strings.Split(strings.Trim(v, "[]"), ",") {
					m.add(key, strings.TrimSpace(item))
				}
			}
			continue
		}
		if item, ok := strings.CutPrefix(trimmed, "- "); ok {
			m.add(key, strings.TrimSpace(item))
		} else if key == "negative" {
			k, v, _ := strings.Cut(trimmed, ":")
			switch strings.TrimSpace(k) {
			case "phase":
				m.negativePhase = strings.TrimSpace(v)
			case "type":
				m.negativeType = strings.TrimSpace(v)
			}
		}
	}
	return m
}

func (m *test262Meta) add(key, item string) {
	if item == "" {
		return
	}
	switch key {
	case "includes":
		m.includes = append(m.includes, item)
	case "flags":
		m.flags[item] = true
	case "features":
		m.features = append(m.features, item)
	}
}

// test262Runner runs tests with a cache of compiled harness files.
type test262Runner struct {
	dir       string
	prelude   []*goja.Program // nil: goja alone
	proposals map[string]bool // features not yet in the standard

	mu      sync.Mutex
	harness map[string]*goja.Program
}

func (r *test262Runner) harnessProgram(name string) (*goja.Program, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.harness[name]; ok {
		return p, nil
	}
	src, err := os.ReadFile(filepath.Join(r.dir, "harness", name))
	if err != nil {
		return nil, err
	}
	p, err := goja.Compile(name, string(src), false)
	if err != nil {
		return nil, fmt.Errorf("harness %s: %w", name, err)
	}
	r.harness[name] = p
	return p, nil
}

var errTest262Skip = errors.New("skipped")

// run runs one test and returns nil if it passes.
func (r *test262Runner) run(path string, src string, meta test262Meta) (err error) {
	if meta.flags["module"] {
		return errTest262Skip
	}
	for _, f := range meta.features {
		if r.proposals[f] {
			return errTest262Skip
		}
	}
	strict := meta.flags["onlyStrict"]
	vm := goja.New()
	timer := time.AfterFunc(10*time.Second, func() { vm.Interrupt("timeout") })
	defer timer.Stop()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	if r.prelude != nil {
		newNatives(vm) // without builtinKeys: core-js loads at once
	}
	for _, p := range r.prelude {
		if _, err := vm.RunProgram(p); err != nil {
			return fmt.Errorf("prelude: %w", err)
		}
	}
	var printed []string
	_ = vm.Set("print", func(s string) { printed = append(printed, s) })
	d262 := vm.NewObject()
	_ = d262.Set("global", vm.GlobalObject())
	_ = d262.Set("gc", func() {})
	_ = d262.Set("detachArrayBuffer", func(ab goja.ArrayBuffer) { ab.Detach() })
	_ = d262.Set("evalScript", func(s string) (goja.Value, error) { return vm.RunString(s) })
	_ = vm.Set("$262", d262)
	if !meta.flags["raw"] {
		includes := append([]string{"assert.js", "sta.js"}, meta.includes...)
		if meta.flags["async"] {
			includes = append(includes, "doneprintHandle.js")
		}
		for _, inc := range includes {
			p, err := r.harnessProgram(inc)
			if err != nil {
				return err
			}
			if _, err := vm.RunProgram(p); err != nil {
				return fmt.Errorf("harness %s: %w", inc, err)
			}
		}
	}
	if strict {
		src = "'use strict';\n" + src
	}
	prog, cerr := goja.Compile(path, src, false)
	if cerr != nil {
		if meta.negativePhase == "parse" || meta.negativePhase == "early" {
			return nil
		}
		return fmt.Errorf("compile: %w", cerr)
	}
	if meta.negativePhase == "parse" {
		return errors.New("expected a SyntaxError at parse time")
	}
	_, rerr := vm.RunProgram(prog)
	if meta.negativePhase == "runtime" || meta.negativePhase == "resolution" {
		var ex *goja.Exception
		if !errors.As(rerr, &ex) {
			return fmt.Errorf("expected %s, got %v", meta.negativeType, rerr)
		}
		if obj, ok := ex.Value().(*goja.Object); ok {
			if c := obj.Get("constructor"); c != nil {
				if co, ok := c.(*goja.Object); ok && co.Get("name").String() == meta.negativeType {
					return nil
				}
			}
		}
		return fmt.Errorf("expected %s, got %v", meta.negativeType, rerr)
	}
	if rerr != nil {
		return rerr
	}
	if meta.flags["async"] {
		for _, line := range printed {
			if line == "Test262:AsyncTestComplete" {
				return nil
			}
			if strings.HasPrefix(line, "Test262:AsyncTestFailure") {
				return errors.New(line)
			}
		}
		return errors.New("async test did not complete")
	}
	return nil
}

// test262Proposals reads the features of proposals (stage 3) from
// features.txt: those listed before its "## Standard language features".
func test262Proposals(dir string) (map[string]bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "features.txt"))
	if err != nil {
		return nil, fmt.Errorf("test262 features: %w", err)
	}
	proposals := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "## Standard") {
			break
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			proposals[line] = true
		}
	}
	return proposals, nil
}

// test262Tally counts one built-in's results.
type test262Tally struct{ total, before, after int }

func TestTest262(t *testing.T) {
	if *test262Dir == "" {
		t.Skip("set -test262.dir to a checkout of tc39/test262")
	}
	progs, err := preludePrograms()
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(preludeFS, "prelude/*.js")
	sort.Strings(names)
	var builtins []*goja.Program
	for i, name := range names {
		switch filepath.Base(name) {
		case "00_symbols.js", "01_polyfill.js", "01_polyfill_lazy.js", "02_weakref.js":
			builtins = append(builtins, progs[i])
		}
	}
	proposals, err := test262Proposals(*test262Dir)
	if err != nil {
		t.Fatal(err)
	}
	before := &test262Runner{dir: *test262Dir, proposals: proposals, harness: map[string]*goja.Program{}}
	after := &test262Runner{dir: *test262Dir, prelude: builtins, proposals: proposals, harness: map[string]*goja.Program{}}

	testDir := filepath.Join(*test262Dir, "test")
	var files []string
	err = filepath.WalkDir(testDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(testDir, p)
		if d.IsDir() || !strings.HasSuffix(p, ".js") || strings.HasSuffix(p, "_FIXTURE.js") {
			return nil
		}
		if strings.HasPrefix(filepath.ToSlash(rel), *test262Filter) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tallies := map[string]*test262Tally{}
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range goruntime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Error(err)
					continue
				}
				src := string(b)
				meta := parseTest262Meta(src)
				rel, _ := filepath.Rel(testDir, p)
				parts := strings.Split(filepath.ToSlash(rel), "/")
				group := parts[0]
				if len(parts) > 2 {
					group = parts[1]
				}
				errBefore := before.run(rel, src, meta)
				if errors.Is(errBefore, errTest262Skip) {
					continue
				}
				errAfter := after.run(rel, src, meta)
				mu.Lock()
				tl := tallies[group]
				if tl == nil {
					tl = &test262Tally{}
					tallies[group] = tl
				}
				tl.total++
				if errBefore == nil {
					tl.before++
				}
				if errAfter == nil {
					tl.after++
				}
				mu.Unlock()
				if testing.Verbose() && errAfter != nil && os.Getenv("TEST262_FAILURES") != "" {
					t.Logf("FAIL %s: %v", rel, errAfter)
				}
			}
		}()
	}
	for _, f := range files {
		work <- f
	}
	close(work)
	wg.Wait()

	groups := make([]string, 0, len(tallies))
	for g := range tallies {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var sb strings.Builder
	pct := func(n, d int) string { return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(d)) }
	fmt.Fprintf(&sb, "| built-in | tests | goja alone | with cairn's prelude |\n|---|---:|---:|---:|\n")
	var sum test262Tally
	for _, g := range groups {
		tl := tallies[g]
		sum.total += tl.total
		sum.before += tl.before
		sum.after += tl.after
		fmt.Fprintf(&sb, "| %s | %d | %s | %s |\n", g, tl.total, pct(tl.before, tl.total), pct(tl.after, tl.total))
	}
	if sum.total > 0 {
		fmt.Fprintf(&sb, "| **all** | %d | %s | %s |\n", sum.total, pct(sum.before, sum.total), pct(sum.after, sum.total))
	}
	t.Log("\n" + sb.String())
	if *test262Out != "" {
		if err := os.WriteFile(*test262Out, []byte(sb.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
	for _, g := range strings.Split(*test262Min, ",") {
		if tl := tallies[g]; g != "" && (tl == nil || float64(tl.after) < 0.95*float64(tl.total)) {
			t.Errorf("%s: under 95%% after", g)
		}
	}
}
