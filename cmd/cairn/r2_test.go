package main

import (
	"errors"
	"reflect"
	"testing"

	"github.com/cairn-dev/cairn/config"
)

func TestR2BucketList(t *testing.T) {
	cfg := &config.Config{R2Buckets: []config.R2Bucket{{Binding: "A", BucketName: "files"}, {Binding: "B", BucketName: "files"}, {Binding: "C"}}}
	for _, tt := range []struct {
		name   string
		stored []string
		want   []r2BucketInfo
	}{
		{"nothing stored", nil, []r2BucketInfo{{Name: "files", Bindings: []string{"A", "B"}}, {Name: "C", Bindings: []string{"C"}}}},
		{"stored and orphaned", []string{"files", "old"}, []r2BucketInfo{
			{Name: "files", Bindings: []string{"A", "B"}, Stored: true}, {Name: "C", Bindings: []string{"C"}}, {Name: "old", Stored: true}}},
	} {
		if got := r2BucketList(cfg, tt.stored); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestSplitObjectPath(t *testing.T) {
	for _, tt := range []struct {
		in, bucket, key string
		err             error
	}{
		{"files/a/b.png", "files", "a/b.png", nil},
		{"files/", "", "", errObjectPath},
		{"/x", "", "", errObjectPath},
		{"files", "", "", errObjectPath},
	} {
		b, k, err := splitObjectPath(tt.in)
		if b != tt.bucket || k != tt.key || !errors.Is(err, tt.err) {
			t.Errorf("%q: %q %q %v", tt.in, b, k, err)
		}
	}
}
