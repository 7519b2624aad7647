// Package ingest turns a CDR file's byte stream into rated calls: it
// decompresses, parses, rates with one engine snapshot, keeps rejected lines
// and judges whether the file is in its format at all. It is pure streaming
// logic; where the bytes come from and where the rows go is the caller's.
package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/rating"
)

// ErrBadFile marks a file that cannot be ingested as a whole: not in its
// format, binary, a corrupt or truncated compressed stream. Retrying does
// not help; the file must be replaced.
var ErrBadFile = errors.New("bad CDR file")

// ErrCorruptStream (with ErrBadFile) marks a compressed stream that ended
// early or failed its checksum. The caller tells a truncated object from a
// connection cut short by the bytes it received.
var ErrCorruptStream = errors.New("compressed stream is corrupt or truncated")

// MaxKeptRejects bounds the rejected lines kept per file (all are counted),
// so that a large bad file cannot exhaust memory.
const MaxKeptRejects = 10_000

// Judging a file: past this many lines, a file with more rejected lines
// than good ones is not in its format.
const judgeAfter = 100

// Source reads and rates one file, a call at a time.
type Source struct {
	r        *cdr.Reader
	engine   *rating.Engine
	name     string
	rec      cdr.Record
	res      rating.Result
	out      cdr.Rating
	rejects  []*cdr.LineError
	rejected int64
	lines    int64
	// Progress, if set, is called every ProgressEvery calls.
	Progress      func(lines int64)
	ProgressEvery int64
}

// NewSource reads in, plain or gzip (detected by its magic number), as a file
// of format f named name (for messages); naive times are in loc.
func NewSource(name string, in io.Reader, f cdr.Format, loc *time.Location, e *rating.Engine) (*Source, error) {
	br := bufio.NewReaderSize(in, 64<<10)
	head, _ := br.Peek(512)
	var body io.Reader = br
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: gzip: %v", ErrBadFile, name, err)
		}
		body = gz
		head = nil
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return nil, fmt.Errorf("%w: %s is binary, not a CDR file in %s format", ErrBadFile, name, f)
	}
	return &Source{r: cdr.NewReader(body, f, cdr.Options{Location: loc}), engine: e, name: name, ProgressEvery: 10_000}, nil
}

// Next returns the next rated call, io.EOF at the end, or an error that
// ends the file (wrapping ErrBadFile when the file itself is at fault).
func (s *Source) Next() (*cdr.Record, *cdr.Rating, error) {
	for {
		err := s.r.Read(&s.rec)
		var le *cdr.LineError
		switch {
		case err == nil:
		case errors.As(err, &le):
			s.lines++
			s.rejected++
			if len(s.rejects) < MaxKeptRejects {
				s.rejects = append(s.rejects, le)
			}
			if s.lines >= judgeAfter && s.rejected*2 > s.lines {
				return nil, nil, s.notInFormat()
			}
			continue
		case errors.Is(err, io.EOF):
			if s.lines > 0 && s.rejected*2 > s.lines {
				return nil, nil, s.notInFormat()
			}
			return nil, nil, io.EOF
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
			return nil, nil, fmt.Errorf("%w: %s: %w near line %d: %v", ErrBadFile, s.name, ErrCorruptStream, s.r.Line(), err)
		default:
			if s.r.Line() == 0 || s.lines == 0 {
				return nil, nil, fmt.Errorf("%w: %s: %v", ErrBadFile, s.name, err)
			}
			return nil, nil, fmt.Errorf("%s: %w", s.name, err)
		}
		s.lines++
		if s.Progress != nil && s.lines%s.ProgressEvery == 0 {
			s.Progress(s.lines)
		}
		Rate(s.engine, &s.rec, &s.res, &s.out)
		return &s.rec, &s.out, nil
	}
}

func (s *Source) notInFormat() error {
	first := ""
	if len(s.rejects) > 0 {
		first = "; first: " + s.rejects[0].Error()
	}
	return fmt.Errorf("%w: %s is not a CDR file in %s format: %d of %d lines rejected%s", ErrBadFile, s.name, s.r.Format(), s.rejected, s.lines, first)
}

// Rejects returns the kept rejected lines and how many there were.
func (s *Source) Rejects() ([]*cdr.LineError, int64) { return s.rejects, s.rejected }

// Rate rates one call with e into out, as it is stored; res is scratch
// space that a caller rating many calls reuses.
func Rate(e *rating.Engine, rec *cdr.Record, res *rating.Result, out *cdr.Rating) {
	e.RateInto(&rating.CDR{ConnectTime: rec.ConnectTime, Duration: rec.Duration, OrigIP: rec.OrigIP,
		OrigAccount: rec.OrigAccount, SrcNumber: rec.SrcNumber, DstNumber: rec.DstNumber}, res)
	*out = cdr.Rating{Status: res.Status.String(), Client: res.Client, AccountID: res.AccountID, RateTable: res.RateTable, Currency: res.Currency}
	if res.Status == rating.Rated {
		out.RateID, out.Code, out.BilledSeconds, out.Cost = res.RateID, res.Code, res.BilledSeconds, int64(res.Cost)
	}
}
