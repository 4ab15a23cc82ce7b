package storage

/*
#include <stdint.h>
#include <stddef.h>

typedef struct sqlite3 sqlite3;

// Provided by github.com/mattn/go-sqlite3's SQLite, linked into the binary.
extern int sqlite3_set_authorizer(sqlite3*, int (*)(void*, int, const char*, const char*, const char*, const char*), void*);

extern int cairnAuthorize(uintptr_t, int, char*, char*, char*);

static int cairn_authorize_trampoline(void *h, int op, const char *a1, const char *a2, const char *db, const char *trigger) {
	return cairnAuthorize((uintptr_t)h, op, (char*)a1, (char*)a2, (char*)db);
}

static int cairn_set_authorizer(void *db, uintptr_t h) {
	return sqlite3_set_authorizer((sqlite3*)db, h ? cairn_authorize_trampoline : NULL, (void*)h);
}
*/
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/mattn/go-sqlite3"
)

// Authorizers are registered here rather than with go-sqlite3's
// RegisterAuthorizer: go-sqlite3 keeps every connection's callbacks in one
// process-wide table and scans all of it whenever any connection closes,
// so with thousands of live objects each eviction cost O(live objects).
// This table is keyed by a number per connection and a close deletes one
// entry. It is process-wide because SQLite calls back through C with only
// that number.
var (
	authorizers    sync.Map // uint64 → func(op int, arg1, arg2, dbName string) int
	nextAuthorizer atomic.Uint64
)

// setAuthorizer installs fn as c's SQLite authorizer and returns the key to
// pass to clearAuthorizer once c is closed.
func setAuthorizer(c *sqlite3.SQLiteConn, fn func(op int, arg1, arg2, dbName string) int) (uint64, error) {
	key := nextAuthorizer.Add(1)
	authorizers.Store(key, fn)
	if rc := C.cairn_set_authorizer(connHandle(c), C.uintptr_t(key)); rc != 0 {
		authorizers.Delete(key)
		return 0, fmt.Errorf("sqlite3_set_authorizer: error %d", int(rc))
	}
	return key, nil
}

// clearAuthorizer forgets the authorizer of a closed connection.
func clearAuthorizer(key uint64) {
	if key != 0 {
		authorizers.Delete(key)
	}
}

//export cairnAuthorize
func cairnAuthorize(key C.uintptr_t, op C.int, arg1, arg2, dbName *C.char) C.int {
	fn, ok := authorizers.Load(uint64(key))
	if !ok {
		return C.int(sqlite3.SQLITE_DENY)
	}
	return C.int(fn.(func(int, string, string, string) int)(int(op), cString(arg1), cString(arg2), cString(dbName)))
}

func cString(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}
