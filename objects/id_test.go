package objects

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

var lowerHex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestIDFromName(t *testing.T) {
	ns := NewNamespace("Counter", []byte("secret-a"))
	other := NewNamespace("Counter", []byte("secret-b"))

	// Pinned: ids are stored on disk (file names) and handed out to clients,
	// so the derivation must never change. Computed independently with
	// Python's hmac: K = sha256(b"secret-a"); a = HMAC(K, b"room-1")[:16];
	// a + HMAC(K, a)[:16].
	const golden = "605bf1c6c453243f77852e4f523f3c46e7161cd7bfb33d903924c651a5964b57"
	if got := ns.IDFromName("room-1").String(); got != golden {
		t.Errorf("IDFromName(room-1) = %s, want %s", got, golden)
	}

	a := ns.IDFromName("a")
	if !lowerHex64.MatchString(a.String()) { // spec behaviour 1
		t.Errorf("String() = %q, want 64 lowercase hex digits", a)
	}
	if a != ns.IDFromName("a") { // spec 1, 2
		t.Error("IDFromName is not deterministic")
	}
	if a == ns.IDFromName("b") {
		t.Error("different names gave the same id")
	}
	if a == other.IDFromName("a") {
		t.Error("different namespaces gave the same id for one name")
	}
	if a == ns.IDFromName("") || ns.IDFromName("") != ns.IDFromName("") {
		t.Error("the empty name is not an ordinary name")
	}
}

func TestNewUniqueID(t *testing.T) {
	ns := NewNamespace("Counter", []byte("secret-a"))
	seen := make(map[ID]bool)
	for range 100 {
		id := ns.NewUniqueID()
		if seen[id] { // spec 2
			t.Fatalf("NewUniqueID repeated %s", id)
		}
		seen[id] = true
		if !lowerHex64.MatchString(id.String()) {
			t.Fatalf("String() = %q, want 64 lowercase hex digits", id)
		}
		if _, err := ns.ParseID(id.String()); err != nil {
			t.Fatalf("ParseID(NewUniqueID()) = %v", err)
		}
	}
}

func TestParseID(t *testing.T) {
	ns := NewNamespace("Counter", []byte("secret-a"))
	other := NewNamespace("Counter", []byte("secret-b"))
	named := ns.IDFromName("a")
	unique := ns.NewUniqueID()

	flipped := named
	flipped[20] ^= 0x01 // one bit of the MAC
	forged := named
	forged[3] ^= 0x80 // one bit of the name part, MAC left as it was

	tests := []struct {
		name string
		in   string
		want ID
		err  error
	}{
		{"name round trip", named.String(), named, nil}, // spec 3
		{"unique round trip", unique.String(), unique, nil},
		{"uppercase accepted as workerd does", strings.ToUpper(named.String()), named, nil},
		{"other namespace", other.NewUniqueID().String(), ID{}, ErrWrongNamespace}, // spec 4
		{"other namespace by name", other.IDFromName("a").String(), ID{}, ErrWrongNamespace},
		{"flipped MAC bit", flipped.String(), ID{}, ErrWrongNamespace},
		{"flipped name bit", forged.String(), ID{}, ErrWrongNamespace},
		{"all zeros", strings.Repeat("0", 64), ID{}, ErrWrongNamespace},
		{"63 chars", named.String()[:63], ID{}, ErrInvalidID}, // spec 4
		{"65 chars", named.String() + "0", ID{}, ErrInvalidID},
		{"empty", "", ID{}, ErrInvalidID},
		{"not hex", "xyz", ID{}, ErrInvalidID}, // spec 4
		{"64 non-hex", strings.Repeat("g", 64), ID{}, ErrInvalidID},
		{"one non-hex digit", named.String()[:63] + "z", ID{}, ErrInvalidID},
		{"surrounding space", " " + named.String()[1:], ID{}, ErrInvalidID},
		{"32 two-byte runes", strings.Repeat("é", 32), ID{}, ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ns.ParseID(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseID(%q) err = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("ParseID(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestErrorTexts(t *testing.T) {
	// The JS layer throws these texts as TypeErrors; they match workerd's.
	if got := ErrInvalidID.Error(); got != "Invalid Durable Object ID: must be 64 hex digits" {
		t.Errorf("ErrInvalidID = %q", got)
	}
	if got := ErrWrongNamespace.Error(); got != "Durable Object ID is not valid for this namespace." {
		t.Errorf("ErrWrongNamespace = %q", got)
	}
}

// spec 7: the same name gives another id in a jurisdiction; ParseID accepts
// it and Jurisdiction recovers it.
func TestJurisdictionIDs(t *testing.T) {
	ns := NewNamespace("Room", []byte("secret"))
	plain := ns.IDFromName("x")
	eu, err := ns.IDFromNameIn("eu", "x")
	if err != nil {
		t.Fatal(err)
	}
	if eu == plain {
		t.Fatal("jurisdiction eu gave the same id as no jurisdiction")
	}
	if again, _ := ns.IDFromNameIn("eu", "x"); again != eu {
		t.Fatal("IDFromNameIn is not deterministic")
	}
	u, _ := ns.NewUniqueIDIn("fedramp")
	for _, tc := range []struct {
		id   ID
		want string
	}{{plain, ""}, {eu, "eu"}, {u, "fedramp"}} {
		parsed, err := ns.ParseID(tc.id.String())
		if err != nil || parsed != tc.id {
			t.Fatalf("ParseID(%s) = %v, %v", tc.id, parsed, err)
		}
		if got := ns.Jurisdiction(tc.id); got != tc.want {
			t.Errorf("Jurisdiction = %q, want %q", got, tc.want)
		}
	}
	if _, err := ns.IDFromNameIn("mars", "x"); !errors.Is(err, ErrJurisdiction) {
		t.Errorf("unknown jurisdiction: %v", err)
	}
	other := NewNamespace("Room", []byte("other"))
	if _, err := other.ParseID(eu.String()); !errors.Is(err, ErrWrongNamespace) {
		t.Errorf("another namespace accepted a jurisdiction id: %v", err)
	}
}
