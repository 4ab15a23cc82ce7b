package server

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadDevVars(t *testing.T) {
	tests := []struct {
		name, src string
		want      map[string]string
		wantErr   string
	}{
		{"plain", "A=1\nB = two words\n", map[string]string{"A": "1", "B": "two words"}, ""},
		{"comments and export", "# secret\nexport TOKEN=abc # trailing\n\n", map[string]string{"TOKEN": "abc"}, ""},
		{"quotes", "D=\"line\\nnext\"\nS='raw \\n'\nE=\n", map[string]string{"D": "line\nnext", "S": `raw \n`, "E": ""}, ""},
		{"bad line", "A=1\nnonsense\n", nil, ".dev.vars:2: want KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".dev.vars")
			if err := os.WriteFile(path, []byte(tt.src), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readDevVars(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Errorf("readDevVars = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if got, err := readDevVars(filepath.Join(t.TempDir(), "missing")); got != nil || err != nil {
		t.Errorf("missing file: %v, %v", got, err)
	}
}
