package config

import "fmt"

// maxNameLen bounds a Worker name and a D1 or KV id: each names a file or
// directory under the state directory.
const maxNameLen = 128

// ValidName reports whether s may name a Worker, D1 database or KV
// namespace on disk: 1 to 128 letters, digits, '.', '_' or '-', not
// starting with '.'. The rule keeps every name one path element inside the
// state directory ("../x", "a/b", "." and ".." are refused), portable, and
// free of characters a shell or URL would need to quote.
func ValidName(s string) bool {
	if s == "" || len(s) > maxNameLen || s[0] == '.' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// checkName returns an *Error at path if name is not a ValidName.
func (d *decoder) checkName(path, what, name string) error {
	if ValidName(name) {
		return nil
	}
	return d.errorf(path, "%s %q is not valid: use 1 to %d letters, digits, '.', '_' or '-', not starting with '.' (it names files under the state directory)", what, name, maxNameLen)
}

// checkNames validates the names that become paths under the state
// directory: the Worker's, and the ids of its D1 databases and KV
// namespaces.
func (d *decoder) checkNames(c *Config, nameFromDir bool) error {
	if nameFromDir {
		if !ValidName(c.Name) {
			return &Error{File: d.file, Msg: fmt.Sprintf("the Worker name defaults to the directory name %q, which is not a valid name: set \"name\" (letters, digits, '.', '_' or '-')", c.Name)}
		}
	} else if err := d.checkName("name", "Worker name", c.Name); err != nil {
		return err
	}
	for i, db := range c.D1Databases {
		if db.DatabaseID != "" {
			if err := d.checkName(index("d1_databases", i)+".database_id", "database_id", db.DatabaseID); err != nil {
				return err
			}
		} else if db.DatabaseName != "" {
			// Without an id, the name is the database's file id.
			if err := d.checkName(index("d1_databases", i)+".database_name", "database_name", db.DatabaseName); err != nil {
				return err
			}
		}
	}
	for i, kv := range c.KVNamespaces {
		if kv.ID != "" {
			if err := d.checkName(index("kv_namespaces", i)+".id", "KV namespace id", kv.ID); err != nil {
				return err
			}
		}
	}
	return nil
}
