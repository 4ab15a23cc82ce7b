//go:build !linux

package commit

// fileSystem is unused where syncfs does not exist: openFileSystem returns
// nil and rounds sync file by file.
type fileSystem struct{ min int }

func openFileSystem(string, int) (*fileSystem, error) { return nil, nil }

func (*fileSystem) sync() error  { return nil }
func (*fileSystem) close() error { return nil }
