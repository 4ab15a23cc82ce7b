//go:build !linux

package server

import (
	"context"
	"errors"
	"log/slog"
)

// FDStoreEnabled reports whether the service manager keeps descriptors for
// this process: never outside Linux.
func FDStoreEnabled() bool { return false }

// StashFleet is not supported outside Linux.
func StashFleet(ctx context.Context, f *Fleet, locks *StateLocks, log *slog.Logger) (int, error) {
	return 0, errors.New("descriptor store: only on Linux")
}

// TakeFDStore finds nothing outside Linux.
func TakeFDStore(log *slog.Logger) (*Handed, func(), error) { return nil, func() {}, nil }
