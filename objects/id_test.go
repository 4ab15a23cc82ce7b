package objects

import (
	"errors"
	"strings"
	"testing"
)

func TestIDs(t *testing.T) {
	ns := NewNamespace("Counter", []byte("secret-a"))
	other := NewNamespace("Counter", []byte("secret-b"))

	a := ns.IDFromName("a")
	if a != ns.IDFromName("a") { // spec 1, 2
		t.Error("IDFromName is not deterministic")
	}
	if a == ns.IDFromName("b") || a == other.IDFromName("a") {
		t.Error("different names or namespaces gave the same id")
	}
	if s := a.String(); len(s) != 64 || strings.ToLower(s) != s {
		t.Errorf("String() = %q, want 64 lowercase hex digits", s)
	}
	if ns.NewUniqueID() == ns.NewUniqueID() {
		t.Error("two unique ids are equal")
	}

	unique := ns.NewUniqueID()
	flipped := []byte(a.String())
	flipped[63] ^= 1 // '0'..'f' stays hex with one bit flipped for most digits
	if flipped[63] > 'f' || (flipped[63] > '9' && flipped[63] < 'a') {
		flipped[63] = '0'
		if a.String()[63] == '0' {
			flipped[63] = '1'
		}
	}
	tests := []struct {
		name string
		in   string
		want ID
		err  error
	}{
		{"name round trip", a.String(), a, nil}, // spec 3
		{"unique round trip", unique.String(), unique, nil},
		{"other namespace", other.NewUniqueID().String(), ID{}, ErrWrongNamespace}, // spec 4
		{"flipped MAC bit", string(flipped), ID{}, ErrWrongNamespace},
		{"too short", a.String()[1:], ID{}, ErrInvalidID},
		{"not hex", "xyz", ID{}, ErrInvalidID},
		{"uppercase", strings.ToUpper(a.String()), ID{}, ErrInvalidID},
		{"64 non-hex", strings.Repeat("g", 64), ID{}, ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ns.ParseID(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseID err = %v, want %v", err, tt.err)
			}
			if err == nil && got != tt.want {
				t.Errorf("ParseID = %s, want %s", got, tt.want)
			}
		})
	}
}
