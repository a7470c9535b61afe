package ops

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxFilterRecords bounds the explicit records one filter names.
const MaxFilterRecords = 1000

// RecordRef names a dead letter by its position in the dead-letter topic.
type RecordRef struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

// Filter selects dead letters of one group; its criteria combine with AND.
// A filter with no criterion must say All, so that an empty request never
// replays or discards everything by accident.
type Filter struct {
	All bool `json:"all,omitempty"`
	// Handler is the handler name exactly ("movie:movie-views").
	Handler string `json:"handler,omitempty"`
	// Key is the record key exactly (a movie id, say).
	Key string `json:"key,omitempty"`
	// Error is a substring of the error text, matched without regard to case.
	Error string `json:"error,omitempty"`
	// Partition, FromOffset and ToOffset select by position in the
	// dead-letter topic (offsets inclusive).
	Partition  *int32 `json:"partition,omitempty"`
	FromOffset *int64 `json:"fromOffset,omitempty"`
	ToOffset   *int64 `json:"toOffset,omitempty"`
	// Records lists dead letters explicitly.
	Records []RecordRef `json:"records,omitempty"`
}

// ErrInvalid marks a request an operator can correct: a bad filter, an
// unknown group.
var ErrInvalid = errors.New("invalid")

// ErrNotFound marks a dead letter or replay that does not exist.
var ErrNotFound = errors.New("not found")

// checkText refuses text no database column can hold: invalid UTF-8, NUL.
func checkText(name, v string) error {
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return invalidf("%s must be UTF-8 text without NUL", name)
	}
	return nil
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Validate refuses an empty filter that does not say All, and values out of
// range.
func (f Filter) Validate() error {
	empty := f.Handler == "" && f.Key == "" && f.Error == "" && f.Partition == nil && f.FromOffset == nil && f.ToOffset == nil && len(f.Records) == 0
	switch {
	case empty && !f.All:
		return invalidf("the filter selects nothing: name a handler, an error, offsets or records, or say all")
	case len(f.Handler) > 512:
		return invalidf("handler is over 512 bytes")
	case len(f.Key) > 1024:
		return invalidf("key is over 1024 bytes")
	case len(f.Error) > 512:
		return invalidf("error is over 512 bytes")
	case len(f.Records) > MaxFilterRecords:
		return invalidf("records names over %d records", MaxFilterRecords)
	case f.Partition != nil && *f.Partition < 0:
		return invalidf("partition is negative")
	case f.FromOffset != nil && f.ToOffset != nil && *f.FromOffset > *f.ToOffset:
		return invalidf("fromOffset is after toOffset")
	}
	for name, v := range map[string]string{"handler": f.Handler, "error": f.Error} {
		if err := checkText(name, v); err != nil {
			return err
		}
	}
	for _, r := range f.Records {
		if r.Partition < 0 || r.Offset < 0 {
			return invalidf("records: partition and offset must not be negative")
		}
	}
	return nil
}
