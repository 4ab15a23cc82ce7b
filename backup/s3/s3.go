// Package s3 is a backup.Target on an S3-compatible bucket (AWS S3, MinIO,
// R2, …), through the minio-go client: each file of the backup is an
// object under a prefix.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairn-dev/cairn/backup"
)

// Config says which bucket to use and how to reach it.
type Config struct {
	// Endpoint is the server's URL (https://s3.example.com; http:// for
	// one without TLS); empty: AWS S3 (s3.amazonaws.com).
	Endpoint string
	Region   string
	Bucket   string
	Prefix   string // objects are named Prefix + "/" + file name
	// AccessKey and SecretKey (and SessionToken) are the credentials;
	// empty: none (anonymous access).
	AccessKey, SecretKey, SessionToken string
}

// ParseURL reads s3://bucket/prefix into a Config.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return Config{}, fmt.Errorf("%q is not an s3://bucket/prefix URL", raw)
	}
	return Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}, nil
}

// FromEnv fills the fields of c that are empty from the standard AWS
// variables: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION or
// AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN.
func (c *Config) FromEnv() {
	set := func(v *string, names ...string) {
		for _, n := range names {
			if *v == "" {
				*v = os.Getenv(n)
			}
		}
	}
	set(&c.Endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
	set(&c.Region, "AWS_REGION", "AWS_DEFAULT_REGION")
	set(&c.AccessKey, "AWS_ACCESS_KEY_ID")
	set(&c.SecretKey, "AWS_SECRET_ACCESS_KEY")
	set(&c.SessionToken, "AWS_SESSION_TOKEN")
}

// Bucket is a backup.Target on a bucket.
type Bucket struct {
	c      *minio.Client
	bucket string
	prefix string
}

// New returns the Target for c. It does not contact the server.
func New(c Config) (*Bucket, error) {
	host, secure := "s3.amazonaws.com", true
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("S3 endpoint %q is not an http:// or https:// URL", c.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	var creds *credentials.Credentials
	if c.AccessKey != "" || c.SecretKey != "" {
		creds = credentials.NewStaticV4(c.AccessKey, c.SecretKey, c.SessionToken)
	} else {
		creds = credentials.NewStatic("", "", "", credentials.SignatureAnonymous)
	}
	mc, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: c.Region, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		return nil, fmt.Errorf("S3 client: %w", err)
	}
	prefix := strings.Trim(c.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &Bucket{c: mc, bucket: c.Bucket, prefix: prefix}, nil
}

// String returns the s3:// URL of the backup.
func (b *Bucket) String() string { return "s3://" + b.bucket + "/" + strings.TrimSuffix(b.prefix, "/") }

// Put uploads name (in parts, for large files).
func (b *Bucket) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	_, err := b.c.PutObject(ctx, b.bucket, b.prefix+name, r, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", name, b, err)
	}
	return nil
}

// Get downloads name.
func (b *Bucket) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if _, err := b.c.StatObject(ctx, b.bucket, b.prefix+name, minio.StatObjectOptions{}); err != nil {
		var er minio.ErrorResponse
		if errors.As(err, &er) && (er.Code == minio.NoSuchKey || er.StatusCode == 404) {
			return nil, fmt.Errorf("%s/%s: %w", b, name, backup.ErrNotFound)
		}
		return nil, fmt.Errorf("download %s from %s: %w", name, b, err)
	}
	obj, err := b.c.GetObject(ctx, b.bucket, b.prefix+name, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("download %s from %s: %w", name, b, err)
	}
	return obj, nil
}
