package r2

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
)

// Object is an object's metadata. Uploaded is in milliseconds since the
// epoch; ETag is the hex MD5 of the body (for a multipart object, the MD5
// of the parts' MD5s followed by "-<parts>"), unquoted.
type Object struct {
	Key            string            `json:"key"`
	Version        string            `json:"version"`
	Size           int64             `json:"size"`
	ETag           string            `json:"etag"`
	Uploaded       int64             `json:"uploaded"`
	HTTPMetadata   HTTPMetadata      `json:"httpMetadata"`
	CustomMetadata map[string]string `json:"customMetadata"`
	Checksums      Checksums         `json:"checksums"`
}

// HTTPMetadata is the HTTP metadata stored with an object. CacheExpiry is
// in milliseconds since the epoch, 0 for none.
type HTTPMetadata struct {
	ContentType        string `json:"contentType,omitempty"`
	ContentLanguage    string `json:"contentLanguage,omitempty"`
	ContentDisposition string `json:"contentDisposition,omitempty"`
	ContentEncoding    string `json:"contentEncoding,omitempty"`
	CacheControl       string `json:"cacheControl,omitempty"`
	CacheExpiry        int64  `json:"cacheExpiry,omitempty"`
}

// Checksums are an object's checksums, in lower-case hex; "" when absent.
// MD5 is always set for an object put whole; the others are stored when a
// put gave them (and they matched).
type Checksums struct {
	MD5    string `json:"md5,omitempty"`
	SHA1   string `json:"sha1,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	SHA384 string `json:"sha384,omitempty"`
	SHA512 string `json:"sha512,omitempty"`
}

// Conditional is R2's onlyIf: the operation happens only if it holds.
// Uploaded* are milliseconds since the epoch, 0 for unset. A "*" in the
// etag lists matches any etag.
type Conditional struct {
	EtagMatches        []string `json:"etagMatches,omitempty"`
	EtagDoesNotMatch   []string `json:"etagDoesNotMatch,omitempty"`
	UploadedBefore     int64    `json:"uploadedBefore,omitempty"`
	UploadedAfter      int64    `json:"uploadedAfter,omitempty"`
	SecondsGranularity bool     `json:"secondsGranularity,omitempty"`
}

// holds reports whether c holds for obj (nil: there is no object), as S3
// evaluates If-Match, If-None-Match, If-Unmodified-Since and
// If-Modified-Since: a matching etag overrides the date it goes with.
func (c *Conditional) holds(obj *Object) bool {
	if c == nil {
		return true
	}
	if obj == nil {
		return len(c.EtagMatches) == 0
	}
	match := func(list []string) bool {
		return slices.ContainsFunc(list, func(e string) bool { return e == "*" || strings.Trim(e, `"`) == obj.ETag })
	}
	uploaded, before, after := obj.Uploaded, c.UploadedBefore, c.UploadedAfter
	if c.SecondsGranularity {
		uploaded, before, after = uploaded/1000*1000, before/1000*1000, after/1000*1000
	}
	ifMatch := len(c.EtagMatches) > 0
	if ifMatch && !match(c.EtagMatches) {
		return false
	}
	ifNoneMatch := len(c.EtagDoesNotMatch) > 0
	if ifNoneMatch && match(c.EtagDoesNotMatch) {
		return false
	}
	if before != 0 && !ifMatch && uploaded >= before {
		return false
	}
	if after != 0 && !ifNoneMatch && uploaded <= after {
		return false
	}
	return true
}

// Range selects the bytes of a get: Offset and Length (either may be nil),
// or Suffix, the last Suffix bytes.
type Range struct {
	Offset *int64 `json:"offset,omitempty"`
	Length *int64 `json:"length,omitempty"`
	Suffix *int64 `json:"suffix,omitempty"`
}

// resolve returns the offset and length r selects of size bytes.
func (r *Range) resolve(size int64) (off, n int64, err error) {
	if r == nil {
		return 0, size, nil
	}
	if r.Suffix != nil {
		if r.Offset != nil || r.Length != nil || *r.Suffix < 0 {
			return 0, 0, ErrInvalidRange
		}
		n = min(*r.Suffix, size)
		return size - n, n, nil
	}
	if r.Offset != nil {
		off = *r.Offset
	}
	n = size - off
	if r.Length != nil {
		n = *r.Length
	}
	if off < 0 || n < 0 || (off > 0 && off >= size) {
		return 0, 0, ErrInvalidRange
	}
	return off, min(n, size-off), nil
}

// GetOptions are the options of Get.
type GetOptions struct {
	OnlyIf *Conditional
	Range  *Range
}

// GetResult is what Get found. Without Found there is no object. With
// Found but not Body the condition failed: Object is the object, without
// its body (Cloudflare's get returns it so).
type GetResult struct {
	Object
	Found bool
	// Body holds the selected bytes; nil when the condition failed.
	Body []byte
	// Offset and Length are the selected range.
	Offset, Length int64
}

const objectColumns = "key, version, size, etag, uploaded, http_metadata, custom_metadata, checksums"

type scanner interface{ Scan(dst ...any) error }

func scanObject(s scanner, extra ...any) (Object, error) {
	var o Object
	var hm, cm, cs string
	err := s.Scan(append([]any{&o.Key, &o.Version, &o.Size, &o.ETag, &o.Uploaded, &hm, &cm, &cs}, extra...)...)
	if err != nil {
		return o, err
	}
	err = errors.Join(json.Unmarshal([]byte(hm), &o.HTTPMetadata), json.Unmarshal([]byte(cm), &o.CustomMetadata),
		json.Unmarshal([]byte(cs), &o.Checksums))
	if o.CustomMetadata == nil {
		o.CustomMetadata = map[string]string{}
	}
	return o, err
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// head reads the metadata of key, or nil.
func head(ctx context.Context, q querier, key string) (*Object, error) {
	o, err := scanObject(q.QueryRowContext(ctx, "SELECT "+objectColumns+" FROM objects WHERE key = ?", key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("r2 head: %w", err)
	}
	return &o, nil
}

// Head returns the metadata of the object key, or false if there is none.
func (b *Bucket) Head(ctx context.Context, key string) (Object, bool, error) {
	if err := b.check(); err != nil {
		return Object{}, false, err
	}
	if err := validateKey(key); err != nil {
		return Object{}, false, err
	}
	o, err := head(ctx, b.db, key)
	if err == nil {
		err = b.visible(ctx)
	}
	if err != nil || o == nil {
		return Object{}, false, err
	}
	return *o, true, nil
}

// Get reads the object key: its metadata and the bytes opts.Range selects,
// if opts.OnlyIf holds.
func (b *Bucket) Get(ctx context.Context, key string, opts GetOptions) (GetResult, error) {
	if err := b.check(); err != nil {
		return GetResult{}, err
	}
	if err := validateKey(key); err != nil {
		return GetResult{}, err
	}
	// No transaction (with _txlock=immediate it would take the write
	// lock): the body is read by version, and a get that raced a put of
	// the same key starts over.
	for {
		o, err := head(ctx, b.db, key)
		if err != nil || o == nil {
			return GetResult{}, errors.Join(err, b.visible(ctx))
		}
		res := GetResult{Object: *o, Found: true}
		if !opts.OnlyIf.holds(o) {
			return res, b.visible(ctx)
		}
		if res.Offset, res.Length, err = opts.Range.resolve(o.Size); err != nil {
			return GetResult{}, err
		}
		err = b.db.QueryRowContext(ctx, "SELECT substr(body, ?, ?) FROM objects WHERE key = ? AND version = ?",
			res.Offset+1, res.Length, key, o.Version).Scan(&res.Body)
		if errors.Is(err, sql.ErrNoRows) {
			continue // replaced meanwhile
		}
		if err != nil {
			return GetResult{}, fmt.Errorf("r2 get: %w", err)
		}
		if res.Body == nil {
			res.Body = []byte{}
		}
		return res, b.visible(ctx)
	}
}

// PutOptions are the options of Put. Checksums, when set, are verified
// against the body and stored.
type PutOptions struct {
	OnlyIf         *Conditional
	HTTPMetadata   HTTPMetadata
	CustomMetadata map[string]string
	Checksums      Checksums
}

// checksum is one algorithm of Checksums: its name as R2 reports it and
// where it is kept.
type checksum struct {
	name string
	hash func() hash.Hash
	get  func(*Checksums) *string
}

var checksumAlgorithms = []checksum{
	{"MD5", md5.New, func(c *Checksums) *string { return &c.MD5 }},
	{"SHA-1", sha1.New, func(c *Checksums) *string { return &c.SHA1 }},
	{"SHA-256", sha256.New, func(c *Checksums) *string { return &c.SHA256 }},
	{"SHA-384", sha512.New384, func(c *Checksums) *string { return &c.SHA384 }},
	{"SHA-512", sha512.New, func(c *Checksums) *string { return &c.SHA512 }},
}

// verify computes the checksums of body: MD5 always, the others when want
// has them, failing with BadDigest on a mismatch.
func verify(body []byte, want Checksums) (Checksums, error) {
	var got Checksums
	for _, a := range checksumAlgorithms {
		w := strings.ToLower(*a.get(&want))
		if w == "" && a.name != "MD5" {
			continue
		}
		h := a.hash()
		h.Write(body)
		sum := fmt.Sprintf("%x", h.Sum(nil))
		if w != "" && w != sum {
			return Checksums{}, badDigest(a.name, w, sum)
		}
		*a.get(&got) = sum
	}
	return got, nil
}

// Put stores body under key, unless opts.OnlyIf does not hold for the
// object there: then it returns false and stores nothing.
func (b *Bucket) Put(ctx context.Context, key string, body []byte, opts PutOptions) (Object, bool, error) {
	if err := b.check(); err != nil {
		return Object{}, false, err
	}
	if err := validateKey(key); err != nil {
		return Object{}, false, err
	}
	if err := validateCustom(opts.CustomMetadata); err != nil {
		return Object{}, false, err
	}
	if int64(len(body)) > b.opts.MaxObjectSize {
		return Object{}, false, ErrEntityTooLarge
	}
	sums, err := verify(body, opts.Checksums)
	if err != nil {
		return Object{}, false, err
	}
	o := Object{Key: key, Version: newID(), Size: int64(len(body)), ETag: sums.MD5,
		Uploaded: b.opts.Now().UnixMilli(), HTTPMetadata: opts.HTTPMetadata,
		CustomMetadata: opts.CustomMetadata, Checksums: sums}
	if o.CustomMetadata == nil {
		o.CustomMetadata = map[string]string{}
	}
	if body == nil {
		body = []byte{}
	}
	held := true
	err = b.commit(ctx, func(tx *sql.Tx) error {
		if opts.OnlyIf != nil {
			old, err := head(ctx, tx, key)
			if err != nil {
				return err
			}
			if held = opts.OnlyIf.holds(old); !held {
				return nil
			}
		}
		return insertObject(ctx, tx, o, body)
	})
	if err != nil || !held {
		return Object{}, false, err
	}
	return o, true, nil
}

func insertObject(ctx context.Context, tx *sql.Tx, o Object, body []byte) error {
	_, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO objects ("+objectColumns+", body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		o.Key, o.Version, o.Size, o.ETag, o.Uploaded, marshal(o.HTTPMetadata), marshal(o.CustomMetadata), marshal(o.Checksums), body)
	return err
}

// Delete removes the objects keys (at most MaxDeleteKeys) in one
// transaction; a missing key is not an error.
func (b *Bucket) Delete(ctx context.Context, keys ...string) error {
	if err := b.check(); err != nil {
		return err
	}
	if len(keys) > MaxDeleteKeys {
		return &Error{400, ErrInvalidArgument.Code, fmt.Sprintf("You can delete a maximum of %d keys at once.", MaxDeleteKeys)}
	}
	for _, k := range keys {
		if err := validateKey(k); err != nil {
			return err
		}
	}
	return b.commit(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, "DELETE FROM objects WHERE key = ?", k); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListOptions select a page of List. Limit 0 means MaxListLimit.
type ListOptions struct {
	Prefix     string
	Delimiter  string
	Cursor     string // from the previous page
	StartAfter string
	Limit      int
}

// ListResult is one page of a List: objects in key order, and with a
// delimiter the distinct prefixes (up to and including the delimiter) that
// stand for the keys under them. Both count against the limit.
type ListResult struct {
	Objects           []Object
	DelimitedPrefixes []string
	Truncated         bool
	Cursor            string // set when Truncated
}

// List returns the objects whose keys start with opts.Prefix, in UTF-8
// byte order, a page at a time.
func (b *Bucket) List(ctx context.Context, opts ListOptions) (ListResult, error) {
	if err := b.check(); err != nil {
		return ListResult{}, err
	}
	limit := opts.Limit
	switch {
	case limit == 0:
		limit = MaxListLimit
	case limit < 0 || limit > MaxListLimit:
		return ListResult{}, ErrInvalidMaxKeys
	}
	// from is the smallest key the page may hold.
	from := opts.Prefix
	if opts.StartAfter != "" {
		from = max(from, opts.StartAfter+"\x00")
	}
	if opts.Cursor != "" {
		c, err := base64.RawURLEncoding.DecodeString(opts.Cursor)
		if err != nil {
			return ListResult{}, &Error{400, ErrInvalidArgument.Code, "Invalid cursor."}
		}
		from = max(from, string(c))
	}
	res := ListResult{Objects: []Object{}, DelimitedPrefixes: []string{}}
	// Rows come in batches of what the page still needs (and one more, to
	// tell whether it is truncated); a delimited prefix skips the keys
	// under it, so the next batch starts after them.
scan:
	for {
		need := limit - len(res.Objects) - len(res.DelimitedPrefixes) + 1
		batch, err := b.scan(ctx, from, opts.Prefix, need)
		if err != nil {
			return ListResult{}, err
		}
		for _, o := range batch {
			if len(res.Objects)+len(res.DelimitedPrefixes) == limit {
				res.Truncated = true
				res.Cursor = base64.RawURLEncoding.EncodeToString([]byte(from))
				break scan
			}
			if opts.Delimiter != "" {
				if i := strings.Index(o.Key[len(opts.Prefix):], opts.Delimiter); i >= 0 {
					p := o.Key[:len(opts.Prefix)+i+len(opts.Delimiter)]
					res.DelimitedPrefixes = append(res.DelimitedPrefixes, p)
					end, ok := prefixEnd(p)
					if !ok {
						break scan
					}
					from = end
					continue scan
				}
			}
			res.Objects = append(res.Objects, o)
			from = o.Key + "\x00"
		}
		if len(batch) < need {
			break
		}
	}
	return res, b.visible(ctx)
}

// scan returns up to n objects, in key order, with keys at least from that
// start with prefix.
func (b *Bucket) scan(ctx context.Context, from, prefix string, n int) ([]Object, error) {
	q := "SELECT " + objectColumns + " FROM objects WHERE key >= ?"
	args := []any{from}
	if end, ok := prefixEnd(prefix); ok {
		q += " AND key < ?"
		args = append(args, end)
	}
	rows, err := b.db.QueryContext(ctx, q+" ORDER BY key LIMIT ?", append(args, n)...)
	if err != nil {
		return nil, fmt.Errorf("r2 list: %w", err)
	}
	defer rows.Close()
	var out []Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, fmt.Errorf("r2 list: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("r2 list: %w", err)
	}
	return out, nil
}

// prefixEnd returns the smallest string greater than every string starting
// with prefix, if there is one.
func prefixEnd(prefix string) (string, bool) {
	p := []byte(prefix)
	for len(p) > 0 && p[len(p)-1] == 0xff {
		p = p[:len(p)-1]
	}
	if len(p) == 0 {
		return "", false
	}
	p[len(p)-1]++
	return string(p), true
}

// joinParts returns the body of parts in order, with the etag R2 gives a
// multipart object.
func joinParts(parts [][]byte) ([]byte, string) {
	var body bytes.Buffer
	sums := md5.New()
	for _, p := range parts {
		body.Write(p)
		s := md5.Sum(p)
		sums.Write(s[:])
	}
	return body.Bytes(), fmt.Sprintf("%x-%d", sums.Sum(nil), len(parts))
}
