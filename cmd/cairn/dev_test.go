package main

import (
	"maps"
	"testing"
)

func TestParseVars(t *testing.T) {
	tests := []struct {
		in      []string
		want    map[string]string
		wantErr bool
	}{
		{nil, map[string]string{}, false},
		{[]string{"A:1", "B:x:y"}, map[string]string{"A": "1", "B": "x:y"}, false},
		{[]string{"A:"}, map[string]string{"A": ""}, false},
		{[]string{"novalue"}, nil, true},
		{[]string{":v"}, nil, true},
	}
	for _, tt := range tests {
		got, err := parseVars(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && !maps.Equal(got, tt.want)) {
			t.Errorf("parseVars(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"", 0, false},
		{"1048576", 1 << 20, false},
		{"512MiB", 512 << 20, false},
		{"2GiB", 2 << 30, false},
		{"2G", 2 << 30, false},
		{"64 K", 64 << 10, false},
		{"0", 0, true},
		{"-1G", 0, true},
		{"1.5G", 0, true},
		{"lots", 0, true},
		{"99999999999G", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
