//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package backup_test

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// lockForTest holds the state lock on f as a running server does.
func lockForTest(t *testing.T, f *os.File) {
	t.Helper()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	f.WriteString("4242\n")
}
