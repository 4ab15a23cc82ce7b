package jsrt

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/dop251/goja"
)

// wptURLHarness runs one web-platform-tests case through the global URL
// class and returns "" when it passes, or what differed.
const wptURLHarness = `(function (kind, c, setter) {
  const attrs = ["href", "origin", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"];
  if (kind === "parse") {
    const can = c.base === null || c.base === undefined ? URL.canParse(c.input) : URL.canParse(c.input, c.base);
    if (can === !!c.failure) return "URL.canParse gives " + can;
    let u;
    try {
      u = c.base === null || c.base === undefined ? new URL(c.input) : new URL(c.input, c.base);
    } catch (e) {
      if (c.failure && e instanceof TypeError) return "";
      return "threw " + e;
    }
    if (c.failure) return "parsed as " + u.href + ", want failure";
    for (const a of attrs) {
      if (a in c && u[a] !== c[a]) return a + ": got " + JSON.stringify(u[a]) + ", want " + JSON.stringify(c[a]);
    }
    return "";
  }
  let u;
  try {
    u = new URL(c.href);
  } catch (e) {
    return "threw " + e;
  }
  u[setter] = c.new_value;
  for (const a in c.expected) {
    if (u[a] !== c.expected[a]) return a + ": got " + JSON.stringify(u[a]) + ", want " + JSON.stringify(c.expected[a]);
  }
  return "";
})`

// TestWPTURL runs the web-platform-tests URL parsing cases
// (urltestdata.json) and setter cases (setters_tests.json) through the JS
// URL class (testdata/wpt-url). A case failing that is not listed in
// wptURLKnownFailures fails the test, and so does a listed case that now
// passes (so the list stays true).
func TestWPTURL(t *testing.T) {
	vm := preludeRuntime(t)
	v, err := vm.RunString(wptURLHarness)
	if err != nil {
		t.Fatal(err)
	}
	run, _ := goja.AssertFunction(v)
	passed, total := 0, 0
	check := func(name, kind string, c any, setter string) {
		t.Helper()
		got, err := run(goja.Undefined(), vm.ToValue(kind), vm.ToValue(c), vm.ToValue(setter))
		msg := ""
		if err != nil {
			msg = err.Error()
		} else {
			msg = got.String()
		}
		_, known := wptURLKnownFailures[name]
		switch {
		case msg != "" && !known:
			t.Errorf("%s: %s", name, msg)
		case msg == "" && known:
			t.Errorf("%s passes now: remove it from wptURLKnownFailures", name)
		}
		total++
		if msg == "" {
			passed++
		}
	}
	var parse []any
	readJSON(t, "urltestdata.json", &parse)
	for _, c := range parse {
		m, ok := c.(map[string]any)
		if !ok {
			continue // a comment
		}
		name := "parse " + jsonString(m["input"]) + " against " + jsonString(m["base"])
		check(name, "parse", m, "")
	}
	var setters map[string]any
	readJSON(t, "setters_tests.json", &setters)
	keys := make([]string, 0, len(setters))
	for k := range setters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, setter := range keys {
		cases, ok := setters[setter].([]any)
		if !ok {
			continue // the comment
		}
		for _, c := range cases {
			m, ok := c.(map[string]any)
			if !ok {
				continue // a comment
			}
			name := "set " + setter + " of " + jsonString(m["href"]) + " to " + jsonString(m["new_value"])
			check(name, "set", m, setter)
		}
	}
	t.Logf("WPT URL: %d of %d cases pass", passed, total)
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "wpt-url", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// wptURLKnownFailures lists the cases cairn's URL does not pass yet, by
// name, with the reason.
var wptURLKnownFailures = map[string]string{}
