// Package blob names what an object store holds: an object's key, content
// tag and size. Adapters (s3store) return it; billing reads it without
// knowing the store.
package blob

import (
	"errors"
	"time"
)

// ErrExists is wrapped by the error of a write-once put to a key that holds
// an object already.
var ErrExists = errors.New("the object exists already")

// ErrNotFound is wrapped by the error of reading a key that holds nothing.
var ErrNotFound = errors.New("no such object")

// Object describes a stored object.
type Object struct {
	Key      string
	ETag     string // changes with the content
	Size     int64
	Modified time.Time
	Metadata map[string]string
}
