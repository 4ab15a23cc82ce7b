package objects

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// ErrInvalidID is returned by ParseID for a string that is not exactly 64
// hex digits. The text is workerd's TypeError message; the JS layer throws it
// as a TypeError from idFromString.
var ErrInvalidID = errors.New("Invalid Durable Object ID: must be 64 hex digits")

// ErrWrongNamespace is returned by ParseID for 64 hex digits that were not
// minted by this namespace: another class's id, another data directory's id,
// or a forged or mistyped one (its MAC does not match). The text is workerd's
// TypeError message; the JS layer throws it as a TypeError from idFromString.
var ErrWrongNamespace = errors.New("Durable Object ID is not valid for this namespace.")

// ID identifies a Durable Object within its namespace: 16 bytes that name
// the object (random, or derived from a name) and 16 bytes of MAC that bind
// them to the namespace.
type ID [32]byte

// String returns the id as 64 lowercase hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Namespace mints and validates the ids of one Durable Object class. Its
// key comes from a secret kept in the data directory, so names map to the
// same ids forever and ids from other namespaces are rejected.
type Namespace struct {
	class string
	key   [32]byte
}

// NewNamespace returns the namespace of class whose key is SHA-256(secret).
// Ids follow workerd's layout: id[0:16] is random (NewUniqueID) or
// HMAC-SHA256(key, name)[0:16] (IDFromName), and id[16:32] is
// HMAC-SHA256(key, id[0:16])[0:16], which ParseID checks.
func NewNamespace(class string, secret []byte) *Namespace {
	return &Namespace{class: class, key: sha256.Sum256(secret)}
}

// Class returns the class name the namespace belongs to.
func (ns *Namespace) Class() string { return ns.class }

// IDFromName returns the id for name: the same name always gives the same id.
func (ns *Namespace) IDFromName(name string) ID {
	var id ID
	copy(id[:16], ns.mac([]byte(name)))
	copy(id[16:], ns.mac(id[:16]))
	return id
}

// NewUniqueID returns a random id.
func (ns *Namespace) NewUniqueID() ID {
	var id ID
	_, _ = rand.Read(id[:16]) // crypto/rand.Read never fails
	copy(id[16:], ns.mac(id[:16]))
	return id
}

// ParseID parses an id from its String form (JS idFromString) and checks
// that ns minted it. Like workerd, which decodes with kj::decodeHex, it
// accepts uppercase as well as lowercase hex digits; the id it returns prints
// in lowercase, so both spellings name the same object.
func (ns *Namespace) ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) {
		return ID{}, ErrInvalidID
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return ID{}, ErrInvalidID
	}
	if !hmac.Equal(id[16:], ns.mac(id[:16])) {
		return ID{}, ErrWrongNamespace
	}
	return id, nil
}

// mac returns the first 16 bytes of HMAC-SHA256(key, data).
func (ns *Namespace) mac(data []byte) []byte {
	h := hmac.New(sha256.New, ns.key[:])
	h.Write(data)
	return h.Sum(nil)[:16]
}
