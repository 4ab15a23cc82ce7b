package main

import (
	"reflect"
	"testing"

	"github.com/cairn-dev/cairn/config"
)

func TestKVNamespaceList(t *testing.T) {
	cfg := &config.Config{Name: "app", KVNamespaces: []config.KVNamespace{
		{Binding: "A", ID: "id-a"},
		{Binding: "B"},              // no id: stored under the binding name
		{Binding: "A2", ID: "id-a"}, // a second binding to the same namespace
	}}
	tests := []struct {
		name   string
		stored []string
		want   []kvNamespaceInfo
	}{
		{"nothing stored", nil, []kvNamespaceInfo{
			{ID: "id-a", Title: "app-A", Binding: "A"},
			{ID: "B", Title: "app-B", Binding: "B"},
		}},
		{"stored and orphaned", []string{"B", "old"}, []kvNamespaceInfo{
			{ID: "id-a", Title: "app-A", Binding: "A"},
			{ID: "B", Title: "app-B", Binding: "B", Stored: true},
			{ID: "old", Title: "old", Stored: true},
		}},
	}
	for _, tt := range tests {
		if got := kvNamespaceList(cfg, tt.stored); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
