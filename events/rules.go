package events

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Bounds of event data. The HTTP API and every event's Validate apply the
// same ones, so that what the API accepts is what a consumer can apply, and
// what a foreign producer sends is held to the same rule: every value fits
// every store (SQLite and PostgreSQL) and no retry is spent on input that
// can never be applied.
const (
	// MaxIDLength bounds movie, user and notification ids, which match
	// [A-Za-z0-9_-]{1,64}.
	MaxIDLength      = 64
	MaxTitleLength   = 200
	MaxGenres        = 20
	MaxGenreLength   = 50
	MinYear          = 1870
	MaxYear          = 2100
	MaxSubjectLength = 200
	MaxBodyLength    = 10000
	MaxQueryLength   = 500
	// MaxChannelLength bounds a notification channel, the suffix of its
	// topic name (Kafka allows 249 characters in all).
	MaxChannelLength = 64
	// MaxWatchedSeconds bounds one view's watchedSeconds (a day), so that
	// sums stay far from overflow.
	MaxWatchedSeconds = 86400
)

// FieldError is malformed input in one field. It wraps ErrMalformed: a
// consumer dead-letters it without retries, the HTTP API answers it 400
// naming the field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return ErrMalformed.Error() + ": " + e.Message }

// Unwrap makes errors.Is(err, ErrMalformed) hold.
func (e *FieldError) Unwrap() error { return ErrMalformed }

// Invalid returns a FieldError for field.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// CheckID requires id to match [A-Za-z0-9_-]{1,64}; an empty id passes
// when it is not required.
func CheckID(field, id string, required bool) error {
	if id == "" {
		if required {
			return Invalid(field, "%s is required", field)
		}
		return nil
	}
	if len(id) > MaxIDLength {
		return Invalid(field, "%s must match [A-Za-z0-9_-]{1,%d}", field, MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return Invalid(field, "%s must match [A-Za-z0-9_-]{1,%d}", field, MaxIDLength)
		}
	}
	return nil
}

// CheckText requires s to be lo to hi characters of valid UTF-8 without
// control characters; multiline text may hold line breaks and tabs.
func CheckText(field, s string, lo, hi int, multiline bool) error {
	n := utf8.RuneCountInString(s)
	if n < lo || n > hi {
		if n == 0 {
			return Invalid(field, "%s is required", field)
		}
		return Invalid(field, "%s must be %d to %d characters", field, lo, hi)
	}
	if !utf8.ValidString(s) {
		return Invalid(field, "%s must be valid UTF-8", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return Invalid(field, "%s must not contain control characters", field)
		}
	}
	return nil
}

// CheckYear requires a year, when given, from MinYear to MaxYear.
func CheckYear(year *int) error {
	if year != nil && (*year < MinYear || *year > MaxYear) {
		return Invalid("year", "year must be from %d to %d", MinYear, MaxYear)
	}
	return nil
}

// CheckGenres requires at most MaxGenres genres of 1 to MaxGenreLength characters.
func CheckGenres(genres []string) error {
	if len(genres) > MaxGenres {
		return Invalid("genres", "at most %d genres", MaxGenres)
	}
	for _, g := range genres {
		if CheckText("genres", g, 1, MaxGenreLength, false) != nil {
			return Invalid("genres", "each genre must be 1 to %d characters without control characters", MaxGenreLength)
		}
	}
	return nil
}

// CheckWatchedSeconds requires a duration, when given, from 0 to MaxWatchedSeconds.
func CheckWatchedSeconds(s *int64) error {
	if s != nil && (*s < 0 || *s > MaxWatchedSeconds) {
		return Invalid("watchedSeconds", "watchedSeconds must be 0 to %d", MaxWatchedSeconds)
	}
	return nil
}

// CheckChannel requires a notification channel usable as a topic suffix:
// 1 to MaxChannelLength of [A-Za-z0-9._-].
func CheckChannel(ch string) error {
	if ch == "" {
		return Invalid("channel", "channel is required")
	}
	if len(ch) > MaxChannelLength {
		return Invalid("channel", "channel must be at most %d characters", MaxChannelLength)
	}
	for i := 0; i < len(ch); i++ {
		c := ch[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return Invalid("channel", "channel must match [A-Za-z0-9._-]")
		}
	}
	return nil
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
