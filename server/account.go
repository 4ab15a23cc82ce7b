package server

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/d1"
	"github.com/cairn-dev/cairn/kv"
)

// AccountDir is the directory under a cairn serve data dir holding what
// belongs to the account rather than to one Worker: d1/ and kv/. It starts
// with a dot, so no Worker (whose name may not) can own it.
const AccountDir = ".account"

// Account holds the D1 databases and KV namespaces of a cairn serve: on
// Cloudflare they belong to the account, so two Workers binding the same
// database_id or KV id share one database or namespace. Each is opened once
// (one writer, one commit log, one output of durable writes) and lent to
// the Apps that bind it (Options.Account); the Account, not the Apps,
// closes them. R2 buckets and Durable Objects stay with their Worker.
type Account struct {
	dir     string
	log     *slog.Logger
	durable *commit.Local
	acks    *ackGate          // durable, guarded by the data dir's lock; held back during a backup
	commit  commit.Log        // acks
	hist    *commit.Histories // <data>/.account/history: D1's Time Travel, KV's history
	retain  Retentions        // what the configs binding the account's databases set

	// D1 is the account's databases, <data>/.account/d1/.
	D1 *d1.Manager

	mu     sync.Mutex
	kv     map[string]*kv.Namespace // by id, opened on first use
	closed bool
}

// ErrAccountClosed is returned for a namespace asked of a closed Account.
var ErrAccountClosed = errors.New("account storage is closed")

// OpenAccount opens the account storage under data, which locks holds
// (or now takes): its writes fail, as a Worker's do, if the data dir is
// deleted while serving.
func OpenAccount(data string, locks *StateLocks, log *slog.Logger) (*Account, error) {
	lock, err := locks.lock(data)
	if err != nil {
		return nil, err
	}
	durable := commit.NewLocal(0)
	if err := durable.SyncFileSystem(data, syncFSMin); err != nil {
		durable.Close()
		return nil, fmt.Errorf("data dir %s: %w", data, err)
	}
	// The account's databases keep history as a Worker's do: every commit
	// a record, D1's Time Travel over it.
	acks := &ackGate{Log: lock.guard(durable, log)}
	a := &Account{dir: data, log: log, durable: durable, acks: acks, commit: acks, kv: map[string]*kv.Namespace{},
		retain: RetentionsOf(nil, 0)}
	a.hist = NewHistories(data, AccountDir, a.retain, log)
	durable.SetHistories(a.hist)
	a.D1 = d1.NewManager(filepath.Join(data, AccountDir, "d1"), log)
	a.D1.Commit, a.D1.Histories = a.commit, a.hist
	return a, nil
}

// Dir returns the account's state directory, <data>/.account.
func (a *Account) Dir() string { return filepath.Join(a.dir, AccountDir) }

// Histories returns the history store of the account's databases,
// <data>/.account/history.
func (a *Account) Histories() *commit.Histories { return a.hist }

// retainFor takes the history_retention keys of cfg (a Worker binding
// some of the account's databases) for their histories.
func (a *Account) retainFor(cfg *config.Config) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.retain = a.retain.merge(RetentionsOf(cfg, 0))
	a.hist.SetOptions(a.retain.options(a.log))
}

// KVCatalog returns the catalog of the account's KV namespaces.
func (a *Account) KVCatalog() *kv.Catalog { return kv.NewCatalog(a.dir, AccountDir) }

// openKV returns the account's namespaces that cfg binds, by binding name,
// opening those not open yet.
func (a *Account) openKV(cfg *config.Config) (map[string]*kv.Namespace, error) {
	a.retainFor(cfg)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrAccountClosed
	}
	out := make(map[string]*kv.Namespace, len(cfg.KVNamespaces))
	for _, b := range cfg.KVNamespaces {
		id := KVNamespaceID(b)
		ns := a.kv[id]
		if ns == nil {
			path, err := kv.Path(a.dir, AccountDir, id)
			var opts kv.Options
			if err == nil {
				opts, err = kvOptions(id, path, a.commit, a.hist, a.log)
			}
			if err == nil {
				ns, err = kv.Open(path, opts)
			}
			if err != nil {
				return nil, fmt.Errorf("kv_namespaces binding %s: %w", b.Binding, err)
			}
			a.kv[id] = ns
		}
		out[b.Binding] = ns
	}
	return out, nil
}

// Close closes the databases and namespaces, then the commit log (which
// waits for the syncs in flight). The Apps using them must be closed first.
func (a *Account) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	return errors.Join(closeEach(a.kv), a.D1.Close(), a.durable.Close(), a.hist.Close())
}
