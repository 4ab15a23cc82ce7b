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
