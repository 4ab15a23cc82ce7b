package wpt

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The runner on a tiny WPT tree (testdata/wpt) whose testharness.js is a
// minimal stand-in: files found, META scripts loaded (with the fallback for
// common/subset-tests.js), subtests counted, a hanging test ended by the
// budget, and files that cannot run reported with their reason.
func TestRunner(t *testing.T) {
	r := &Runner{Root: "testdata/wpt", Timeout: 2 * time.Second}
	files, err := r.Files("suite")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"suite/basic.any.js", "suite/sub/hangs.any.js", "suite/sub/missing.any.js", "suite/sub/throws.any.js"}
	if !reflect.DeepEqual(files, want) {
		t.Fatalf("Files = %v, want %v", files, want)
	}

	tests := []struct {
		file      string
		statuses  map[string]Status
		errPrefix string
		counts    Counts
	}{
		{"suite/basic.any.js", map[string]Status{"script loaded": Pass, "fails": Fail, "async passes": Pass, "subset fallback": Pass}, "", Counts{Files: 1, Pass: 3, Fail: 1}},
		{"suite/sub/hangs.any.js", map[string]Status{"passes": Pass, "never settles": Timeout}, "", Counts{Files: 1, Pass: 1, Fail: 1}},
		{"suite/sub/missing.any.js", nil, "META script nope.js", Counts{Files: 1, Errors: 1}},
		{"suite/sub/throws.any.js", nil, "load: ", Counts{Files: 1, Errors: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			res := r.RunFile(context.Background(), tc.file)
			got := map[string]Status{}
			for _, s := range res.Subtests {
				got[s.Name] = s.Status
			}
			if len(tc.statuses) > 0 && !reflect.DeepEqual(got, tc.statuses) {
				t.Errorf("subtests = %v, want %v", got, tc.statuses)
			}
			if !strings.HasPrefix(res.Error, tc.errPrefix) || (tc.errPrefix == "") != (res.Error == "") {
				t.Errorf("Error = %q, want prefix %q", res.Error, tc.errPrefix)
			}
			if res.Elapsed <= 0 {
				t.Errorf("Elapsed = %v", res.Elapsed)
			}
			if c := res.Count(); c != tc.counts {
				t.Errorf("Count = %+v, want %+v", c, tc.counts)
			}
		})
	}
}

// With HTML set, .html pages run their scripts (not those under resources/),
// relative Request URLs resolve against the test's URL, and skipped files
// say why without running.
func TestRunnerHTMLAndSkips(t *testing.T) {
	r := &Runner{Root: "testdata/wpt", Timeout: 2 * time.Second, HTML: true,
		Skip: map[string]string{"suite/sub": "no", "suite/sub/hangs.any.js": "", "suite/x*": "pattern"}}
	files, err := r.Files("suite")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"suite/basic.any.js", "suite/page.html", "suite/sub/hangs.any.js", "suite/sub/missing.any.js", "suite/sub/throws.any.js"}
	if !reflect.DeepEqual(files, want) {
		t.Fatalf("Files = %v, want %v", files, want)
	}
	res := r.RunFile(context.Background(), "suite/page.html")
	if c := res.Count(); c != (Counts{Files: 1, Pass: 2}) || res.Error != "" {
		t.Errorf("page.html: %+v %+v", c, res)
	}
	for file, why := range map[string]string{
		"suite/sub/missing.any.js": "no", "suite/sub/hangs.any.js": "", "suite/xy.any.js": "pattern",
		"suite/a.sub.any.js": reasonSub, "suite/basic.any.js": "",
	} {
		if got := r.skipped(file); got != why {
			t.Errorf("skipped(%s) = %q, want %q", file, got, why)
		}
	}
	if res := r.RunFile(context.Background(), "suite/sub/throws.any.js"); res.Skipped != "no" || res.Count() != (Counts{Skipped: 1}) {
		t.Errorf("skipped file ran: %+v", res)
	}
}

func TestParseHTML(t *testing.T) {
	m, inline := parseHTML(`<title> T </title><meta name="timeout" content="long"><script src="/resources/testharness.js"></script>
<SCRIPT src='a.js'></SCRIPT><script>one()</script><script type="module">two()</script>`)
	want := meta{title: "T", scripts: []string{"a.js"}, long: true}
	if !reflect.DeepEqual(m, want) || !reflect.DeepEqual(inline, []string{"one()", "two()"}) {
		t.Errorf("parseHTML = %+v %q", m, inline)
	}
}

func TestParseMeta(t *testing.T) {
	m := parseMeta("// META: title=T\n// META: script=a.js\n\n// plain comment\n// META: timeout=long\n// META: script=/b.js\ncode();\n// META: script=late.js\n")
	want := meta{title: "T", scripts: []string{"a.js", "/b.js"}, long: true}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("parseMeta = %+v, want %+v", m, want)
	}
}
