// Package s3store keeps billrun's files in an S3 bucket: the CDR inbox and
// the invoice documents. It works with AWS S3 and with S3-compatible servers
// (MinIO, the Versity gateway) through S3_ENDPOINT and path-style addressing.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/billrun/billrun/internal/blob"
)

// Store is one bucket.
type Store struct {
	client   *s3.Client
	transfer *transfermanager.Client
	bucket   string
	region   string
}

// PartSize is the size of the parts a large upload is sent in: a CDR file
// of gigabytes goes up in parts, several at once, each retried alone.
const PartSize = 16 << 20

// Object describes a stored object.
type Object = blob.Object

// New connects to bucket; endpoint "" means AWS's own.
func New(ctx context.Context, endpoint, bucket string) (*Store, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		// Checksums only where an operation requires them: S3-compatible
		// servers vary in which of the newer checksums they accept, and
		// computing a CRC for every document costs the client CPU.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	tm := transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes = PartSize
		o.MultipartUploadThreshold = PartSize
	})
	return &Store{client: client, transfer: tm, bucket: bucket, region: cfg.Region}, nil
}

// Bucket is the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// URI is the s3:// address of key.
func (s *Store) URI(key string) string { return "s3://" + s.bucket + "/" + key }

// EnsureBucket creates the bucket if it does not exist.
func (s *Store) EnsureBucket(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err == nil {
		return nil
	}
	in := &s3.CreateBucketInput{Bucket: &s.bucket}
	if s.region != "us-east-1" {
		// AWS creates a bucket outside us-east-1 only when told where.
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(s.region)}
	}
	_, err := s.client.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Put stores body under key. body must be seekable when size is unknown to
// the SDK (a file or a bytes.Reader).
func (s *Store) Put(ctx context.Context, key string, body io.Reader, contentType string, meta map[string]string) (string, error) {
	out, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: body,
		ContentType: aws.String(contentType), Metadata: meta})
	if err != nil {
		return "", fmt.Errorf("put %s: %w", s.URI(key), err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`), nil
}

// Upload stores a file, however large, under key: in parts of PartSize
// when it is larger than one part. Its ETag is then that of a multipart
// object ("…-N").
func (s *Store) Upload(ctx context.Context, key string, body io.Reader, contentType string) (string, error) {
	out, err := s.transfer.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: &s.bucket, Key: &key, Body: body,
		ContentType: aws.String(contentType)})
	if err != nil {
		return "", fmt.Errorf("upload %s: %w", s.URI(key), err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`), nil
}

// ErrExists is wrapped by the error of PutNew for a key that holds an object.
var ErrExists = blob.ErrExists

// PutNew stores body under key only if no object is there (a conditional
// write, If-None-Match: *): an issued document is written once and never
// overwritten, where the server supports conditional writes (AWS S3,
// MinIO, the Versity gateway).
func (s *Store) PutNew(ctx context.Context, key string, body io.Reader, contentType string) (string, error) {
	out, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: body,
		ContentType: aws.String(contentType), IfNoneMatch: aws.String("*")})
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "PreconditionFailed" || api.ErrorCode() == "ConditionalRequestConflict") {
		return "", fmt.Errorf("put %s: %w", s.URI(key), ErrExists)
	}
	if err != nil {
		return "", fmt.Errorf("put %s: %w", s.URI(key), err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`), nil
}

// Open streams the object at key.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	var missing *types.NoSuchKey
	if errors.As(err, &missing) {
		return nil, Object{}, fmt.Errorf("get %s: %w", s.URI(key), blob.ErrNotFound)
	}
	if err != nil {
		return nil, Object{}, fmt.Errorf("get %s: %w", s.URI(key), err)
	}
	return out.Body, Object{Key: key, ETag: strings.Trim(aws.ToString(out.ETag), `"`), Size: aws.ToInt64(out.ContentLength),
		Metadata: out.Metadata}, nil
}

// List returns every object under prefix, in key order.
func (s *Store) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	err := s.Walk(ctx, prefix, "", func(page []Object) (bool, error) {
		out = append(out, page...)
		return true, nil
	})
	return out, err
}

// Walk hands the objects under prefix whose keys sort after after to fn, a
// page (up to 1,000 objects) at a time in key order, until fn returns false.
func (s *Store) Walk(ctx context.Context, prefix, after string, fn func([]Object) (bool, error)) error {
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix}
	if after != "" {
		in.StartAfter = &after
	}
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", s.URI(prefix), err)
		}
		objs := make([]Object, len(page.Contents))
		for i, o := range page.Contents {
			objs[i] = Object{Key: aws.ToString(o.Key), ETag: strings.Trim(aws.ToString(o.ETag), `"`),
				Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified)}
		}
		if more, err := fn(objs); err != nil || !more {
			return err
		}
	}
	return nil
}

// Delete removes the object at key.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	return err
}

// DeleteBucket removes the (empty) bucket.
func (s *Store) DeleteBucket(ctx context.Context) error {
	_, err := s.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &s.bucket})
	return err
}
