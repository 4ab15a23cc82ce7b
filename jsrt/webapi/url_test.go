package webapi

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	whatwg "github.com/nlnwa/whatwg-url/url"
)

// TestParseSimpleURL checks the fast path against the full parser: for
// every input it takes (the table, and the inputs of WPT's
// urltestdata.json that it accepts) it must give the fields the full
// parser gives, and it must decline what needs normalizing.
func TestParseSimpleURL(t *testing.T) {
	tests := []struct {
		in   string
		fast bool
	}{
		{"http://x/a/", true},
		{"http://x/a//b?q=1#h", true},
		{"https://example.com", true},
		{"https://example.com:8443/p?", true},
		{"ws://h.test/#", true},
		{"http://x/.well-known/a", true},
		{"http://x/%7Efoo/~bar", true},
		{"http://X/a", false},               // upper-case host
		{"HTTP://x/a", false},               // upper-case scheme
		{"http://x:80/a", false},            // default port
		{"http://x:080/a", false},           // leading zero
		{"http://x:65536/", false},          // out of range
		{"http://127.0.0.1/", false},        // IPv4
		{"http://0x7f.1/", false},           // IPv4, hex
		{"http://[::1]/", false},            // IPv6
		{"http://xn--nxasmq6b.com/", false}, // punycode
		{"http://u:p@x/", false},            // credentials
		{"http://x/a/../b", false},          // dot segment
		{"http://x/a/%2E/b", false},         // dot segment, escaped
		{"http://x/a b", false},             // space
		{"http://x/a\\b", false},            // backslash
		{"http://x/é", false},               // non-ASCII
		{"http://x/?a'b", false},            // quote in a special query
		{"http://x/a<b", false},             // path percent-encode set
		{"http://a..b/", false},             // empty label
		{"file:///tmp", false},              // not http(s)/ws(s)
	}
	inputs := make([]string, 0, len(tests))
	for _, tt := range tests {
		_, ok := parseSimpleURL(tt.in)
		if ok != tt.fast {
			t.Errorf("parseSimpleURL(%q) ok = %v, want %v", tt.in, ok, tt.fast)
		}
		inputs = append(inputs, tt.in)
	}
	b, err := os.ReadFile(filepath.Join("..", "testdata", "wpt-url", "urltestdata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []any
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if m, ok := c.(map[string]any); ok {
			if in, ok := m["input"].(string); ok {
				inputs = append(inputs, in)
			}
		}
	}
	taken := 0
	for _, in := range inputs {
		r, ok := parseSimpleURL(in)
		if !ok {
			continue
		}
		taken++
		u, err := urlParser.Parse(in)
		if err != nil {
			t.Errorf("%q: the fast path accepts what the parser rejects: %v", in, err)
			continue
		}
		if want := full(u); r != want {
			t.Errorf("%q:\nfast %+v\nfull %+v", in, r, want)
		}
	}
	t.Logf("the fast path took %d of %d inputs", taken, len(inputs))
}

func full(u *whatwg.Url) urlRecord {
	return urlRecord{href: u.Href(false), origin: urlOriginOf(u), protocol: u.Protocol(), username: u.Username(), password: u.Password(),
		host: u.Host(), hostname: u.Hostname(), port: u.Port(), pathname: u.Pathname(), search: u.Search(), hash: u.Hash()}
}

// TestForm checks the application/x-www-form-urlencoded codec.
func TestForm(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		out  string
	}{
		{"a=1&b=two+words", []string{"a", "1", "b", "two words"}, "a=1&b=two+words"},
		{"&&x&=y&", []string{"x", "", "", "y"}, "x=&=y"},
		{"%C3%A9=%zz%41", []string{"é", "%zzA"}, "%C3%A9=%25zzA"},
		{"%FF=~", []string{"\uFFFD", "~"}, "%EF%BF%BD=%7E"},
		{"k=a*b-c._d!", []string{"k", "a*b-c._d!"}, "k=a*b-c._d%21"},
	}
	for _, tt := range tests {
		got := ParseForm(tt.in)
		if len(got) != len(tt.want) {
			t.Errorf("ParseForm(%q) = %q, want %q", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParseForm(%q) = %q, want %q", tt.in, got, tt.want)
				break
			}
		}
		if s := SerializeForm(got); s != tt.out {
			t.Errorf("SerializeForm(%q) = %q, want %q", got, s, tt.out)
		}
	}
}

// FuzzParseURL checks that the parser neither panics nor hangs on any
// input, with or without a base, and that whatever the fast path takes,
// the full parser parses to the same fields.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"http://x/a/", "https://h.test:8443/a//b?q=1#f", "http://x/./%2e/", "file:///C:/x", "http://[::1]:80/", "blob:https://a/b", "a:b", "\\\\x\\y"} {
		f.Add(s, "http://base.test/dir/file")
	}
	f.Fuzz(func(t *testing.T, in, base string) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				panic(fmt.Sprintf("parsing %q against %q takes over 5 s", in, base))
			}
		}()
		if b, err := urlParser.Parse(base); err == nil {
			if u, err := b.Parse(in); err == nil {
				_ = full(u)
			}
		}
		u, err := urlParser.Parse(in)
		r, ok := parseSimpleURL(in)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("%q: the fast path accepts what the parser rejects: %v", in, err)
		}
		if want := full(u); r != want {
			t.Fatalf("%q:\nfast %+v\nfull %+v", in, r, want)
		}
	})
}
