// Package lazyfs is a FUSE file system for power-loss tests: it mounts a
// view of a backing directory in which nothing written becomes durable
// until it is synced, and Cut throws away everything that was not, the way
// a power cut empties the page cache (after LazyFS, which does this in C++
// for Jepsen).
//
// The model is that of a careful POSIX file system:
//
//   - a file's data and size are durable once the file is fsynced
//     (fsync or fdatasync, which are the same here);
//   - a directory's entries (files created, unlinked or renamed in it,
//     directories made or removed in it) are durable once the directory
//     is fsynced, and only if the directory itself is durably reachable
//     from the root;
//   - syncfs does not reach a FUSE file server (the kernel sends it only to
//     virtiofs), so it makes nothing durable: a program that relies on it
//     loses its writes here, as it would on any FUSE file system.
//
// The backing directory always holds exactly what a power cut would leave:
// a synced file's data is written to a store file of its own under
// .lazyfs/ in the backing directory, and a synced directory's entries are
// hard links to those store files. Unsynced data lives in memory, page by
// page, and unsynced entries only in the mount. Mount again after Cut and
// the mount shows the backing directory as it is.
//
// File locks are the kernel's (local to the machine), and mmap works (the
// files go through the page cache, not direct I/O), so SQLite runs on it in
// any journal mode. Hard links, symlinks and device nodes are not
// supported. lazyfs is for tests: it keeps unsynced data in memory and
// serialises every operation on one lock.
package lazyfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// storeDir is the directory in the backing directory that holds the store
// files; the mount does not show it.
const storeDir = ".lazyfs"

const pageSize = 4096

// ErrCut is returned by operations on a file system that was cut.
var ErrCut = errors.New("lazyfs: file system was cut")

// Stats counts what a mount saw, so a test can tell it exercised syncing.
type Stats struct {
	Writes    uint64 // write calls
	FileSyncs uint64 // fsync/fdatasync of files
	Failed    uint64 // of those, failed by FailSync
	DirSyncs  uint64 // fsync of directories
	Dropped   uint64 // at Cut: bytes written but never synced, thrown away
}

// FS is a mounted lazy file system.
type FS struct {
	backing    string
	mountpoint string
	server     *fuse.Server
	dev        uint64 // the mount's device: its minor number names the FUSE connection

	mu       sync.Mutex
	root     *node
	next     uint64 // names of store files
	cut      bool
	failSync []string // FailSync
	stats    Stats
}

// node is a file or a directory of the mount.
type node struct {
	fs.Inode
	lfs   *FS
	dir   bool
	mode  uint32
	mtime time.Time

	// files
	store      string           // the store file: the durable contents
	storeIno   uint64           // its inode number in the backing file system
	f          *os.File         // the store file, opened on first use
	size       int64            // current size
	storeValid int64            // bytes of the store file still part of the contents (truncation)
	pages      map[int64][]byte // pages written since the last sync, by index
	lost       map[int64][]byte // pages whose sync failed: readable, never durable

	// directories
	durable map[string]*node // the entries as of the last sync
}

// Mount mounts a lazy view of backing at mountpoint (both directories must
// exist). Whatever backing holds is taken as durable.
func Mount(mountpoint, backing string) (*FS, error) {
	backing, err := filepath.Abs(backing)
	if err != nil {
		return nil, fmt.Errorf("lazyfs: %w", err)
	}
	l := &FS{backing: backing, mountpoint: mountpoint}
	root, err := l.load()
	if err != nil {
		return nil, fmt.Errorf("lazyfs: load %s: %w", backing, err)
	}
	l.root = root
	zero := time.Duration(0)
	server, err := fs.Mount(mountpoint, root, &fs.Options{
		// The kernel's caches are kept coherent by the writes passing
		// through it; attributes are not cached so sizes come from here.
		AttrTimeout:  &zero,
		EntryTimeout: &zero,
		MountOptions: fuse.MountOptions{
			FsName:             "lazyfs",
			Name:               "lazyfs",
			DirectMountStrict:  true,
			DisableXAttrs:      true,
			MaxBackground:      64,
			DisableReadDirPlus: true,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("lazyfs: mount %s: %w", mountpoint, err)
	}
	l.server = server
	var st syscall.Stat_t
	if err := syscall.Stat(mountpoint, &st); err != nil {
		server.Unmount()
		return nil, fmt.Errorf("lazyfs: mount %s: %w", mountpoint, err)
	}
	l.dev = st.Dev
	return l, nil
}

// load builds the tree of nodes from the backing directory, giving each file
// a store file (a hard link to it).
func (l *FS) load() (*node, error) {
	store := filepath.Join(l.backing, storeDir)
	if err := os.RemoveAll(store); err != nil {
		return nil, err
	}
	if err := os.Mkdir(store, 0o755); err != nil {
		return nil, err
	}
	root := &node{lfs: l, dir: true, mode: syscall.S_IFDIR | 0o755, mtime: time.Now()}
	var walk func(n *node, path string) error
	walk = func(n *node, path string) error {
		n.durable = map[string]*node{}
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if n == root && e.Name() == storeDir {
				continue
			}
			p := filepath.Join(path, e.Name())
			info, err := e.Info()
			if err != nil {
				return err
			}
			c := &node{lfs: l, mtime: info.ModTime()}
			switch {
			case e.IsDir():
				c.dir, c.mode = true, syscall.S_IFDIR|uint32(info.Mode().Perm())
				if err := walk(c, p); err != nil {
					return err
				}
			case info.Mode().IsRegular():
				c.mode = syscall.S_IFREG | uint32(info.Mode().Perm())
				c.store = l.storeName()
				if err := os.Link(p, c.store); err != nil {
					return err
				}
				if err := c.statStore(); err != nil {
					return err
				}
				c.size, c.storeValid = info.Size(), info.Size()
			default:
				return fmt.Errorf("%s: only files and directories are supported", p)
			}
			n.durable[e.Name()] = c
		}
		return nil
	}
	if err := walk(root, l.backing); err != nil {
		return nil, err
	}
	return root, nil
}

// OnAdd puts the loaded tree under the root inode.
func (n *node) OnAdd(ctx context.Context) {
	if n != n.lfs.root {
		return
	}
	var add func(p *node)
	add = func(p *node) {
		for name, c := range p.durable {
			ch := p.NewPersistentInode(ctx, c, fs.StableAttr{Mode: c.mode & syscall.S_IFMT})
			p.AddChild(name, ch, false)
			if c.dir {
				add(c)
			}
		}
	}
	add(n)
}

func (l *FS) storeName() string {
	l.next++
	return filepath.Join(l.backing, storeDir, strconv.FormatUint(l.next, 10))
}

func (n *node) statStore() error {
	info, err := os.Stat(n.store)
	if err != nil {
		return err
	}
	n.storeIno = info.Sys().(*syscall.Stat_t).Ino
	return nil
}

// Stats returns the counters so far.
func (l *FS) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Cut cuts the power: every write and entry not synced is thrown away, and
// every later call fails with EIO, so nothing more becomes durable. Kill the
// programs using the mount (SIGKILL is the realistic way) and close their
// files, then Unmount. The backing directory holds what survived; Mount it
// again to go on.
func (l *FS) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return
	}
	l.cut = true
	var walk func(n *node)
	walk = func(n *node) {
		for _, ch := range n.Children() {
			c := ch.Operations().(*node)
			if c.dir {
				walk(c)
				continue
			}
			l.stats.Dropped += uint64(len(c.pages)+len(c.lost)) * pageSize
			c.pages, c.lost = nil, nil
			if c.f != nil {
				c.f.Close()
				c.f = nil
			}
		}
	}
	walk(l.root)
}

// Unmount cuts the power (see Cut) and unmounts. Files still open on the
// mount keep it busy: close them first.
func (l *FS) Unmount() error {
	l.Cut()
	var err error
	for range 10 { // a killed process's files may take a moment to close
		if err = l.server.Unmount(); err == nil {
			return nil
		}
	}
	// Files are still open, maybe in this very process, which would then
	// hang at exit closing them with nobody left to answer: abort the
	// connection (if fusectl is mounted) so every call fails at once, and
	// detach the mount.
	abort := fmt.Sprintf("/sys/fs/fuse/connections/%d/abort", unix.Minor(l.dev))
	_ = os.WriteFile(abort, []byte("1"), 0)
	_ = syscall.Unmount(l.mountpoint, syscall.MNT_DETACH)
	return fmt.Errorf("lazyfs: unmount %s (detached): %w", l.mountpoint, err)
}

// FailSync makes the next fsync of a file whose path (in the mount) ends
// with suffix fail with EIO, as Linux reports a failed write-back: the
// data written since the last sync stays readable but is never written, so
// a later fsync succeeds without it, and a cut loses it. A program must not
// take that later success for durability.
func (l *FS) FailSync(suffix string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failSync = append(l.failSync, suffix)
}

// takeFailure reports whether n's sync is to fail, consuming the FailSync.
func (l *FS) takeFailure(n *node) bool {
	if len(l.failSync) == 0 {
		return false
	}
	path := "/" + n.Path(nil)
	for i, suffix := range l.failSync {
		if strings.HasSuffix(path, suffix) {
			l.failSync = append(l.failSync[:i], l.failSync[i+1:]...)
			return true
		}
	}
	return false
}

var (
	_ fs.NodeGetattrer = (*node)(nil)
	_ fs.NodeSetattrer = (*node)(nil)
	_ fs.NodeOpener    = (*node)(nil)
	_ fs.NodeReader    = (*node)(nil)
	_ fs.NodeWriter    = (*node)(nil)
	_ fs.NodeFsyncer   = (*node)(nil)
	_ fs.NodeFlusher   = (*node)(nil)
	_ fs.NodeCreater   = (*node)(nil)
	_ fs.NodeMkdirer   = (*node)(nil)
	_ fs.NodeUnlinker  = (*node)(nil)
	_ fs.NodeRmdirer   = (*node)(nil)
	_ fs.NodeRenamer   = (*node)(nil)
	_ fs.NodeOnAdder   = (*node)(nil)
	_ fs.NodeStatfser  = (*node)(nil)
)

// lock takes the file system's lock, or fails with EIO once it was cut.
func (n *node) lock() syscall.Errno {
	n.lfs.mu.Lock()
	if n.lfs.cut {
		n.lfs.mu.Unlock()
		return syscall.EIO
	}
	return 0
}

func (n *node) unlock() { n.lfs.mu.Unlock() }

func (n *node) attr(out *fuse.Attr) {
	out.Mode = n.mode
	out.Nlink = 1
	if n.dir {
		out.Nlink = 2
	}
	out.Size = uint64(n.size)
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = pageSize
	out.SetTimes(nil, &n.mtime, &n.mtime)
}

// Getattr reports the current (not the durable) attributes.
func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if e := n.lock(); e != 0 {
		return e
	}
	defer n.unlock()
	n.attr(&out.Attr)
	return 0
}

// Setattr changes the size (truncate) and the mode and times; only the
// size takes part in durability.
func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if e := n.lock(); e != 0 {
		return e
	}
	defer n.unlock()
	if sz, ok := in.GetSize(); ok {
		if n.dir {
			return syscall.EISDIR
		}
		n.truncate(int64(sz))
		n.mtime = time.Now()
	}
	if m, ok := in.GetMode(); ok {
		n.mode = n.mode&syscall.S_IFMT | m&0o7777
	}
	if mt, ok := in.GetMTime(); ok {
		n.mtime = mt
	}
	n.attr(&out.Attr)
	return 0
}

// Statfs reports the backing file system's numbers.
func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	var st syscall.Statfs_t
	if err := syscall.Statfs(n.lfs.backing, &st); err != nil {
		return fs.ToErrno(err)
	}
	out.FromStatfsT(&st)
	return 0
}

// Open opens a file. There are no file handles: the data is the node's.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if e := n.lock(); e != 0 {
		return nil, 0, e
	}
	defer n.unlock()
	if !n.dir && flags&syscall.O_TRUNC != 0 {
		n.truncate(0)
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

// Flush (close) makes nothing durable.
func (n *node) Flush(ctx context.Context, f fs.FileHandle) syscall.Errno { return 0 }

// Read reads the current contents: written pages from memory, the rest
// from the store file.
func (n *node) Read(ctx context.Context, f fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if e := n.lock(); e != 0 {
		return nil, e
	}
	defer n.unlock()
	if off >= n.size {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), n.size)
	buf := dest[:end-off]
	for pos := off; pos < end; {
		idx := pos / pageSize
		in := pos - idx*pageSize
		m := min(pageSize-in, end-pos)
		if p, ok := n.pages[idx]; ok {
			copy(buf[pos-off:pos-off+m], p[in:in+m])
		} else if p, ok := n.lost[idx]; ok {
			copy(buf[pos-off:pos-off+m], p[in:in+m])
		} else if err := n.readStore(buf[pos-off:pos-off+m], pos); err != nil {
			return nil, fs.ToErrno(err)
		}
		pos += m
	}
	return fuse.ReadResultData(buf), 0
}

// readStore fills b with the durable bytes at off: the store file's up to
// storeValid, zeros after.
func (n *node) readStore(b []byte, off int64) error {
	clear(b)
	if off >= n.storeValid {
		return nil
	}
	b = b[:min(int64(len(b)), n.storeValid-off)]
	if err := n.open(); err != nil {
		return err
	}
	if _, err := n.f.ReadAt(b, off); err != nil && err != io.EOF {
		return err
	}
	return nil
}

func (n *node) open() error {
	if n.f != nil {
		return nil
	}
	f, err := os.OpenFile(n.store, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	n.f = f
	return nil
}

// Write writes into pages in memory.
func (n *node) Write(ctx context.Context, f fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	if e := n.lock(); e != 0 {
		return 0, e
	}
	defer n.unlock()
	n.lfs.stats.Writes++
	end := off + int64(len(data))
	for pos := off; pos < end; {
		idx := pos / pageSize
		in := pos - idx*pageSize
		m := min(pageSize-in, end-pos)
		p, err := n.page(idx)
		if err != nil {
			return 0, fs.ToErrno(err)
		}
		copy(p[in:in+m], data[pos-off:pos-off+m])
		pos += m
	}
	n.size = max(n.size, end)
	n.mtime = time.Now()
	return uint32(len(data)), 0
}

// page returns page idx in memory, loading it from the store the first time.
func (n *node) page(idx int64) ([]byte, error) {
	if p, ok := n.pages[idx]; ok {
		return p, nil
	}
	if n.pages == nil {
		n.pages = map[int64][]byte{}
	}
	if p, ok := n.lost[idx]; ok { // written again: dirty again, all of it
		delete(n.lost, idx)
		n.pages[idx] = p
		return p, nil
	}
	p := make([]byte, pageSize)
	if idx*pageSize < n.size {
		if err := n.readStore(p, idx*pageSize); err != nil {
			return nil, err
		}
	}
	n.pages[idx] = p
	return p, nil
}

// truncate sets the current size; the bytes cut off read as zeros if the
// file grows again.
func (n *node) truncate(size int64) {
	if size < n.size {
		for _, pages := range []map[int64][]byte{n.pages, n.lost} {
			for idx, p := range pages {
				switch {
				case idx*pageSize >= size:
					delete(pages, idx)
				case (idx+1)*pageSize > size:
					clear(p[size-idx*pageSize:])
				}
			}
		}
		n.storeValid = min(n.storeValid, size)
	}
	n.size = size
}

// Fsync makes a file's contents, or a directory's entries, durable.
func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if e := n.lock(); e != 0 {
		return e
	}
	defer n.unlock()
	if n.dir {
		n.lfs.stats.DirSyncs++
		n.durable = n.entries()
		if err := n.lfs.materialize(); err != nil {
			return fs.ToErrno(err)
		}
		return 0
	}
	n.lfs.stats.FileSyncs++
	if n.lfs.takeFailure(n) {
		// As Linux after a failed write-back: the data stays in the cache
		// but is clean, so no later sync writes it.
		n.lfs.stats.Failed++
		if n.lost == nil {
			n.lost = map[int64][]byte{}
		}
		for idx, p := range n.pages {
			n.lost[idx] = p
		}
		n.pages = nil
		return syscall.EIO
	}
	if err := n.syncData(); err != nil {
		return fs.ToErrno(err)
	}
	return 0
}

// syncData writes the file's pages and size to its store file.
func (n *node) syncData() error {
	if len(n.pages) == 0 && n.storeValid == n.size {
		return nil
	}
	if err := n.open(); err != nil {
		return err
	}
	// Bytes past storeValid were truncated away: zero them before growing.
	if err := n.f.Truncate(n.storeValid); err != nil {
		return err
	}
	if err := n.f.Truncate(n.size); err != nil {
		return err
	}
	for idx, p := range n.pages {
		off := idx * pageSize
		if off >= n.size {
			continue
		}
		if _, err := n.f.WriteAt(p[:min(pageSize, n.size-off)], off); err != nil {
			return err
		}
	}
	n.pages = nil
	n.storeValid = n.size
	return nil
}

// entries returns a directory's current entries.
func (n *node) entries() map[string]*node {
	m := map[string]*node{}
	for name, ch := range n.Children() {
		m[name] = ch.Operations().(*node)
	}
	return m
}

// materialize makes the backing directory match the durable entries of
// every directory reachable from the root through durable entries.
func (l *FS) materialize() error {
	return l.root.materialize(l.backing)
}

func (n *node) materialize(path string) error {
	have, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range have {
		if n == n.lfs.root && e.Name() == storeDir {
			continue
		}
		c, ok := n.durable[e.Name()]
		if ok && c.dir == e.IsDir() {
			if c.dir {
				continue
			}
			if info, err := e.Info(); err == nil && info.Sys().(*syscall.Stat_t).Ino == c.storeIno {
				continue
			}
		}
		if err := os.RemoveAll(filepath.Join(path, e.Name())); err != nil {
			return err
		}
	}
	for name, c := range n.durable {
		p := filepath.Join(path, name)
		if c.dir {
			if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
			if c.durable == nil {
				c.durable = map[string]*node{}
			}
			if err := c.materialize(p); err != nil {
				return err
			}
			continue
		}
		if err := os.Link(c.store, p); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}

// newChild makes a node for a new file or directory.
func (n *node) newChild(ctx context.Context, mode uint32, dir bool) (*node, *fs.Inode, error) {
	c := &node{lfs: n.lfs, dir: dir, mode: mode, mtime: time.Now()}
	if dir {
		c.mode = syscall.S_IFDIR | mode&0o7777
	} else {
		c.mode = syscall.S_IFREG | mode&0o7777
		c.store = n.lfs.storeName()
		f, err := os.OpenFile(c.store, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, nil, err
		}
		c.f = f
		if err := c.statStore(); err != nil {
			return nil, nil, err
		}
	}
	return c, n.NewPersistentInode(ctx, c, fs.StableAttr{Mode: c.mode & syscall.S_IFMT}), nil
}

// Create makes a file; its entry is durable once the directory is synced.
func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if e := n.lock(); e != 0 {
		return nil, nil, 0, e
	}
	defer n.unlock()
	if mode&syscall.S_IFMT != 0 && mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, nil, 0, syscall.ENOTSUP
	}
	c, in, err := n.newChild(ctx, mode, false)
	if err != nil {
		return nil, nil, 0, fs.ToErrno(err)
	}
	n.mtime = time.Now()
	c.attr(&out.Attr)
	return in, nil, fuse.FOPEN_KEEP_CACHE, 0
}

// Mkdir makes a directory; its entry is durable once the parent is synced.
func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if e := n.lock(); e != 0 {
		return nil, e
	}
	defer n.unlock()
	c, in, err := n.newChild(ctx, mode, true)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	c.durable = map[string]*node{}
	n.mtime = time.Now()
	c.attr(&out.Attr)
	return in, 0
}

// Unlink removes a file's entry (the bridge drops the child on success).
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	if e := n.lock(); e != 0 {
		return e
	}
	defer n.unlock()
	ch := n.GetChild(name)
	if ch == nil {
		return syscall.ENOENT
	}
	if ch.Operations().(*node).dir {
		return syscall.EISDIR
	}
	n.mtime = time.Now()
	return 0
}

// Rmdir removes an empty directory's entry.
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	if e := n.lock(); e != 0 {
		return e
	}
	defer n.unlock()
	ch := n.GetChild(name)
	if ch == nil {
		return syscall.ENOENT
	}
	if !ch.Operations().(*node).dir {
		return syscall.ENOTDIR
	}
	if len(ch.Children()) > 0 {
		return syscall.ENOTEMPTY
	}
	n.mtime = time.Now()
	return 0
}

// Rename moves an entry (the bridge moves the child on success); it is
// durable in each directory once that directory is synced.
func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if e := n.lock(); e != 0 {
		return e
	}
	defer n.unlock()
	if flags != 0 {
		return syscall.ENOTSUP // RENAME_EXCHANGE, RENAME_NOREPLACE
	}
	src := n.GetChild(name)
	if src == nil {
		return syscall.ENOENT
	}
	np := newParent.(*node)
	if dst := np.GetChild(newName); dst != nil {
		sd, dd := src.Operations().(*node).dir, dst.Operations().(*node).dir
		switch {
		case sd && !dd:
			return syscall.ENOTDIR
		case !sd && dd:
			return syscall.EISDIR
		case dd && len(dst.Children()) > 0:
			return syscall.ENOTEMPTY
		}
	}
	n.mtime, np.mtime = time.Now(), time.Now()
	return 0
}
