//go:build !linux

package backup

import (
	"fmt"
	"os"
)

// exchange swaps the directories a and b. Without Linux's
// RENAME_EXCHANGE it takes two renames: a crash between them leaves b
// missing, with its old content at a+".old".
func exchange(a, b string) error {
	if err := os.Rename(b, a+".old"); err != nil {
		return fmt.Errorf("swap %s and %s: %w", a, b, err)
	}
	if err := os.Rename(a, b); err != nil {
		return fmt.Errorf("swap %s and %s: %w", a, b, err)
	}
	return os.Rename(a+".old", a)
}
