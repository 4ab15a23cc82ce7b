package webapi

import (
	"testing"
	"unicode/utf8"
)

func TestDecodeUTF8(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"abc", "abc"},
		{"héllo", "héllo"},
		{"\ufeffa", "\ufeffa"}, // the BOM is the caller's business
		{"\xff", "\uFFFD"},
		{"\xe2\x82", "\uFFFD"},   // truncated at the end
		{"\xe2\x82a", "\uFFFDa"}, // one U+FFFD per maximal subpart
		{"a\xf4\x90\x80\x80b", "a\uFFFD\uFFFD\uFFFD\uFFFDb"}, // above U+10FFFF
		{"\xf0\x9f\x98", "\uFFFD"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // a surrogate
		{"\xc0\xaf", "\uFFFD\uFFFD"},           // overlong
	}
	for _, tt := range tests {
		out, ok := DecodeUTF8([]byte(tt.in), false)
		if !ok || out != tt.want || !utf8.ValidString(out) {
			t.Errorf("DecodeUTF8(%q) = %q, %v; want %q", tt.in, out, ok, tt.want)
		}
		if _, ok := DecodeUTF8([]byte(tt.in), true); ok != utf8.ValidString(tt.in) {
			t.Errorf("DecodeUTF8(%q, fatal) ok = %v, want %v", tt.in, ok, utf8.ValidString(tt.in))
		}
	}
}

func TestUTF8Complete(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"a", 1},
		{"a\xe2", 1},     // the start of € held back
		{"a\xe2\x82", 1}, // two of its three bytes
		{"\xe2\x82\xac", 3},
		{"\xf0\x9f\x98", 0},
		{"\xff", 1},     // invalid: decoded now (as U+FFFD)
		{"\xe0\x80", 2}, // invalid second byte: nothing to wait for
		{"ab\xf0", 2},
	}
	for _, tt := range tests {
		if got := utf8Complete([]byte(tt.in)); got != tt.want {
			t.Errorf("utf8Complete(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
