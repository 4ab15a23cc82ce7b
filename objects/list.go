package objects

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// ObjectInfo describes one stored Durable Object, for listings (cairn
// objects list, the admin API).
type ObjectInfo struct {
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"` // known while it is live and was addressed by name
	Size     int64     `json:"size"`           // bytes on disk: database and write-ahead log
	Modified time.Time `json:"modified"`
	Live     bool      `json:"live"` // in memory now (only a running server knows)
}

// Objects lists the objects of class that have storage, by id. A class the
// catalog does not know is an error naming the classes it does.
func (c *Catalog) Objects(class string) ([]ObjectInfo, error) {
	c.mu.Lock()
	e, ok := c.data.Classes[class]
	var known []string
	for name := range c.data.Classes {
		known = append(known, name)
	}
	c.mu.Unlock()
	if !ok {
		slices.Sort(known)
		return nil, &UnknownClassError{Class: class, Known: known}
	}
	dir := c.dir + string(os.PathSeparator) + e.Dir
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []ObjectInfo
	for _, ent := range entries {
		id, ok := strings.CutSuffix(ent.Name(), ".sqlite")
		if !ok || len(id) != 64 {
			continue
		}
		info, err := ent.Info()
		if err != nil {
			continue // removed meanwhile (deleteAll)
		}
		o := ObjectInfo{ID: id, Size: info.Size(), Modified: info.ModTime()}
		if wal, err := os.Stat(dir + string(os.PathSeparator) + ent.Name() + "-wal"); err == nil {
			o.Size += wal.Size()
			if wal.ModTime().After(o.Modified) {
				o.Modified = wal.ModTime()
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// UnknownClassError is returned for a class the catalog has never seen.
type UnknownClassError struct {
	Class string
	Known []string
}

func (e *UnknownClassError) Error() string {
	if len(e.Known) == 0 {
		return "no Durable Object class " + e.Class + " (no classes have storage yet)"
	}
	return "no Durable Object class " + e.Class + " (known: " + strings.Join(e.Known, ", ") + ")"
}

// Objects lists the objects of class with storage, and the live ones
// without storage yet, marking which are live.
func (h *Host) Objects(class string) ([]ObjectInfo, error) {
	list, err := h.catalog.Objects(class)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	index := make(map[string]int, len(list))
	for i, o := range list {
		index[o.ID] = i
	}
	for k, o := range h.live {
		if k.class != class {
			continue
		}
		i, ok := index[k.id.String()]
		if !ok {
			list = append(list, ObjectInfo{ID: k.id.String()})
			i = len(list) - 1
		}
		list[i].Live, list[i].Name = true, o.Name
	}
	slices.SortFunc(list, func(a, b ObjectInfo) int { return strings.Compare(a.ID, b.ID) })
	return list, nil
}
