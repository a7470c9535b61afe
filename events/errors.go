package events

import (
	"errors"
	"fmt"
)

// ErrMalformed marks input that can never be processed: not JSON, a missing
// required field, a wrong type. Consumers treat it as permanent: no retries,
// straight to the dead-letter topic.
var ErrMalformed = errors.New("malformed event")

// Malformed returns an error wrapping ErrMalformed with a reason.
func Malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// permanent wraps an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying. Use it for errors a handler
// knows are final; the router sends the event to the dead-letter topic at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err is malformed input or was marked Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.Is(err, ErrMalformed) || errors.As(err, &p)
}
