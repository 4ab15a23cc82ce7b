//go:build linux

package server

import (
	"fmt"
	"os"
	"testing"
)

// The descriptors systemd passes (sd_listen_fds) are this process's only
// when LISTEN_PID names it; names default to "unknown"; the variables are
// unset either way, so a process started by an upgrade does not take them.
func TestListenFDs(t *testing.T) {
	me := fmt.Sprint(os.Getpid())
	for _, tc := range []struct {
		pid, fds, names string
		want            []string
	}{
		{me, "3", "w:w:cairn-state", []string{"w", "w", "cairn-state"}},
		{me, "2", "w", []string{"w", "unknown"}},
		{me, "0", "", nil},
		{"1", "2", "w:w", nil},
		{"", "2", "w:w", nil},
		{me, "x", "w", nil},
	} {
		t.Setenv("LISTEN_PID", tc.pid)
		t.Setenv("LISTEN_FDS", tc.fds)
		t.Setenv("LISTEN_FDNAMES", tc.names)
		got := listenFDs()
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("LISTEN_PID=%s LISTEN_FDS=%s LISTEN_FDNAMES=%s: %q, want %q", tc.pid, tc.fds, tc.names, got, tc.want)
		}
		if _, set := os.LookupEnv("LISTEN_FDS"); set {
			t.Errorf("LISTEN_FDS still set after listenFDs")
		}
	}
}
