package backup

import "errors"

// ErrNoManifest is returned by Restore when the source has no manifest:
// it is not a backup, or the backup did not finish (the manifest is
// written last).
var ErrNoManifest = errors.New("no " + ManifestName + ": not a backup, or a backup that did not finish")

// ErrBadManifest is returned by Restore for a manifest it cannot use.
var ErrBadManifest = errors.New("bad backup manifest")

// ErrChecksum is returned by Restore when a file of the backup is missing
// or does not match the size or SHA-256 its manifest gives.
var ErrChecksum = errors.New("backup file does not match its manifest")

// ErrLocked is returned by Restore when a process holds the target state
// directory's lock: a server is using it.
var ErrLocked = errors.New("state directory is in use by a running cairn")

// ErrExists is returned by Restore when the target already holds state
// and Force is not set.
var ErrExists = errors.New("state directory already holds state")

// ErrNotFound is returned by a Target's Get for a name it does not hold.
var ErrNotFound = errors.New("not found")

// ErrChanging is returned by Snapshot when a database kept changing in a
// way that made every attempt to copy it inconsistent.
var ErrChanging = errors.New("database changed under every attempt to copy it")

// ErrTargetUsed is returned by Snapshot when the target already holds a
// backup: writing another over it would mix the two.
var ErrTargetUsed = errors.New("the target already holds a backup (" + ManifestName + "): choose another")
