// Package blob names what an object store holds: an object's key, content
// tag and size. Adapters (s3store) return it; billing reads it without
// knowing the store.
package blob

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// CheckName accepts a name that makes one segment of an object key: not
// empty, not . or .., no slash or backslash, no control character, valid
// UTF-8, at most 255 bytes. A key built from such names under a prefix
// cannot leave it, on S3 or on a gateway that maps keys to files.
func CheckName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("%q cannot name an object", name)
	case len(name) > 255:
		return fmt.Errorf("a name of %d bytes: at most 255", len(name))
	case !utf8.ValidString(name):
		return fmt.Errorf("%q is not valid UTF-8", name)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("%q holds a slash", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%q holds a control character", name)
	}
	return nil
}
