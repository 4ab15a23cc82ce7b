package objects

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	if !hmac.Equal(id[16:], ns.mac(id[:16])) && ns.Jurisdiction(id) == "" {
		return ID{}, ErrWrongNamespace
	}
	return id, nil
}

// mac returns the first 16 bytes of HMAC-SHA256(key, data).
func (ns *Namespace) mac(data []byte) []byte {
	return ns.macIn("", data)
}

// macIn is mac in jurisdiction j: ids of a jurisdiction are minted with a
// key domain of their own, so the same name gives another id there, and
// ParseID recovers the jurisdiction by finding which MAC verifies. Ids with
// no jurisdiction are unchanged.
func (ns *Namespace) macIn(j string, data []byte) []byte {
	h := hmac.New(sha256.New, ns.key[:])
	if j != "" {
		h.Write([]byte("\x00jurisdiction=" + j + "\x00"))
	}
	h.Write(data)
	return h.Sum(nil)[:16]
}

// Jurisdictions are the jurisdictions ids can be confined to, as on
// Cloudflare. cairn runs where it is deployed; a jurisdiction only
// separates ids (and is reported by id.jurisdiction).
var Jurisdictions = []string{"eu", "fedramp", "fedramp-high", "us"}

// ErrJurisdiction is returned for a jurisdiction not in Jurisdictions.
var ErrJurisdiction = errors.New("Invalid jurisdiction")

func checkJurisdiction(j string) error {
	if j == "" || slices.Contains(Jurisdictions, j) {
		return nil
	}
	return fmt.Errorf("%w %q: must be one of %s", ErrJurisdiction, j, strings.Join(Jurisdictions, ", "))
}

// IDFromNameIn is IDFromName in jurisdiction j ("" for none).
func (ns *Namespace) IDFromNameIn(j, name string) (ID, error) {
	if err := checkJurisdiction(j); err != nil {
		return ID{}, err
	}
	var id ID
	copy(id[:16], ns.macIn(j, []byte(name)))
	copy(id[16:], ns.macIn(j, id[:16]))
	return id, nil
}

// NewUniqueIDIn is NewUniqueID in jurisdiction j ("" for none).
func (ns *Namespace) NewUniqueIDIn(j string) (ID, error) {
	if err := checkJurisdiction(j); err != nil {
		return ID{}, err
	}
	var id ID
	_, _ = rand.Read(id[:16])
	copy(id[16:], ns.macIn(j, id[:16]))
	return id, nil
}

// Jurisdiction returns the jurisdiction id was minted in, "" for none.
func (ns *Namespace) Jurisdiction(id ID) string {
	for _, j := range Jurisdictions {
		if hmac.Equal(id[16:], ns.macIn(j, id[:16])) {
			return j
		}
	}
	return ""
}
