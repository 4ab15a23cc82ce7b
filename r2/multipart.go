package r2

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// UploadedPart names a part of a multipart upload, as UploadPart returns it
// and CompleteMultipartUpload takes it.
type UploadedPart struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
}

// MultipartOptions are the metadata the object of a multipart upload gets.
type MultipartOptions struct {
	HTTPMetadata   HTTPMetadata
	CustomMetadata map[string]string
}

// CreateMultipartUpload starts a multipart upload of key and returns its id.
func (b *Bucket) CreateMultipartUpload(ctx context.Context, key string, opts MultipartOptions) (string, error) {
	if err := b.check(); err != nil {
		return "", err
	}
	if err := validateKey(key); err != nil {
		return "", err
	}
	if err := validateCustom(opts.CustomMetadata); err != nil {
		return "", err
	}
	if opts.CustomMetadata == nil {
		opts.CustomMetadata = map[string]string{}
	}
	id := newID()
	return id, b.commit(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO uploads (id, key, http_metadata, custom_metadata, created) VALUES (?, ?, ?, ?, ?)",
			id, key, marshal(opts.HTTPMetadata), marshal(opts.CustomMetadata), b.opts.Now().UnixMilli())
		return err
	})
}

// upload checks that id is an upload of key in progress.
func upload(ctx context.Context, tx *sql.Tx, key, id string) (MultipartOptions, error) {
	var hm, cm string
	err := tx.QueryRowContext(ctx, "SELECT http_metadata, custom_metadata FROM uploads WHERE id = ? AND key = ?", id, key).Scan(&hm, &cm)
	if errors.Is(err, sql.ErrNoRows) {
		return MultipartOptions{}, ErrNoSuchUpload
	}
	if err != nil {
		return MultipartOptions{}, err
	}
	var o MultipartOptions
	err = errors.Join(json.Unmarshal([]byte(hm), &o.HTTPMetadata), json.Unmarshal([]byte(cm), &o.CustomMetadata))
	return o, err
}

// UploadPart stores part number n (1 to MaxPartNumber) of upload id of key,
// replacing an earlier upload of that part.
func (b *Bucket) UploadPart(ctx context.Context, key, id string, n int, body []byte) (UploadedPart, error) {
	if err := b.check(); err != nil {
		return UploadedPart{}, err
	}
	if err := validateKey(key); err != nil {
		return UploadedPart{}, err
	}
	if n < 1 || n > MaxPartNumber {
		return UploadedPart{}, &Error{400, ErrInvalidArgument.Code, fmt.Sprintf("Part number must be between 1 and %d (inclusive).", MaxPartNumber)}
	}
	if int64(len(body)) > b.opts.MaxObjectSize {
		return UploadedPart{}, ErrEntityTooLarge
	}
	if body == nil {
		body = []byte{}
	}
	part := UploadedPart{PartNumber: n, ETag: fmt.Sprintf("%x", md5.Sum(body))}
	err := b.commit(ctx, func(tx *sql.Tx) error {
		if _, err := upload(ctx, tx, key, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO parts (upload_id, part_number, etag, size, body) VALUES (?, ?, ?, ?, ?)",
			id, n, part.ETag, len(body), body)
		return err
	})
	if err != nil {
		return UploadedPart{}, err
	}
	return part, nil
}

// AbortMultipartUpload drops upload id of key and its parts.
func (b *Bucket) AbortMultipartUpload(ctx context.Context, key, id string) error {
	if err := b.check(); err != nil {
		return err
	}
	return b.commit(ctx, func(tx *sql.Tx) error {
		if _, err := upload(ctx, tx, key, id); err != nil {
			return err
		}
		return dropUpload(ctx, tx, id)
	})
}

func dropUpload(ctx context.Context, tx *sql.Tx, id string) error {
	_, err := tx.ExecContext(ctx, "DELETE FROM parts WHERE upload_id = ?", id)
	if err == nil {
		_, err = tx.ExecContext(ctx, "DELETE FROM uploads WHERE id = ?", id)
	}
	return err
}

// CompleteMultipartUpload makes the object key of the given parts of upload
// id, in the order given: each must have been uploaded with that etag,
// and every part but the last must be at least Options.MinPartSize bytes.
// The upload ends.
func (b *Bucket) CompleteMultipartUpload(ctx context.Context, key, id string, parts []UploadedPart) (Object, error) {
	if err := b.check(); err != nil {
		return Object{}, err
	}
	if err := validateKey(key); err != nil {
		return Object{}, err
	}
	var o Object
	err := b.commit(ctx, func(tx *sql.Tx) error {
		meta, err := upload(ctx, tx, key, id)
		if err != nil {
			return err
		}
		bodies := make([][]byte, len(parts))
		var total int64
		for i, p := range parts {
			var etag string
			var body []byte
			err := tx.QueryRowContext(ctx, "SELECT etag, body FROM parts WHERE upload_id = ? AND part_number = ?", id, p.PartNumber).Scan(&etag, &body)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && etag != p.ETag) {
				return ErrInvalidPart
			}
			if err != nil {
				return err
			}
			if i < len(parts)-1 && int64(len(body)) < b.opts.MinPartSize {
				return ErrEntityTooSmall
			}
			total += int64(len(body))
			if total > b.opts.MaxObjectSize {
				return ErrEntityTooLarge
			}
			bodies[i] = body
		}
		body, etag := joinParts(bodies)
		if meta.CustomMetadata == nil {
			meta.CustomMetadata = map[string]string{}
		}
		o = Object{Key: key, Version: newID(), Size: int64(len(body)), ETag: etag, Uploaded: b.opts.Now().UnixMilli(),
			HTTPMetadata: meta.HTTPMetadata, CustomMetadata: meta.CustomMetadata}
		if err := insertObject(ctx, tx, o, body); err != nil {
			return err
		}
		return dropUpload(ctx, tx, id)
	})
	if err != nil {
		return Object{}, err
	}
	return o, nil
}
