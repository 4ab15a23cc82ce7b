package backup

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// exchange swaps the directories a and b in one atomic rename.
func exchange(a, b string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		return fmt.Errorf("swap %s and %s: %w", a, b, err)
	}
	return nil
}
