package events_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/reelay/reelay/events"
)

// FuzzDecode feeds arbitrary headers and values to the envelope decoder: it
// never panics, and every error is ErrMalformed (a permanent error, never a
// retry). Seeds include the records that once broke Reelay.
func FuzzDecode(f *testing.F) {
	f.Add("1.0", strings.Repeat("i", 8000), "movie.viewed", "s", "", "application/json", `{"movieId":"m","userId":"u"}`)
	f.Add("1.0", "id", "movie.created", "s", "not a time", "application/json", `{"movieId":"m","title":"a\u0000b"}`)
	f.Add("", "", "", "", "", "application/cloudevents+json", `{"specversion":"1.0","id":"1","type":"t","source":"s","data_base64":"eyJhIjoxfQ=="}`)
	f.Add("", "", "", "", "", "APPLICATION/CLOUDEVENTS+JSON; charset=utf-8", `{"specversion":"1.0","id":"1","type":"t","source":"s","data":{}}`)
	f.Add("1.0", "id", "t", "s", "", "text/plain", `hello`)
	f.Add("1.0", "id", "t", "s", "", "", `[]`)
	f.Fuzz(func(t *testing.T, spec, id, typ, source, at, contentType, value string) {
		headers := map[string]string{"ce_specversion": spec, "ce_id": id, "ce_type": typ, "ce_source": source,
			"ce_time": at, "content-type": contentType}
		e, err := events.Decode(headers, "k", []byte(value))
		if err != nil {
			if !errors.Is(err, events.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if e.ID == "" || e.Type == "" || e.Source == "" || !json.Valid(e.Data) {
			t.Fatalf("decoded an incomplete event: %+v", e)
		}
		_ = events.IdentityOf(headers, []byte(value)).DedupID()
	})
}

// FuzzValidate decodes arbitrary JSON into every event's data and validates
// it: no panic, errors are ErrMalformed, and what passes holds no control
// characters in single-line text and only bounded values.
func FuzzValidate(f *testing.F) {
	f.Add(`{"movieId":"m","title":"a\u0000b","year":3000000000}`)
	f.Add(`{"movieId":"m","userId":"u","watchedSeconds":9223372036854775807}`)
	f.Add(`{"userId":"u","type":"search","query":"\u0000"}`)
	f.Add(`{"userId":"u","channel":"email","subject":"\u0007","body":"b"}`)
	f.Add(`{"movieId":"` + strings.Repeat("m", 65) + `","title":"t","genres":["` + strings.Repeat("g", 51) + `"]}`)
	f.Fuzz(func(t *testing.T, data string) {
		check := func(v events.Validator) {
			if err := json.Unmarshal([]byte(data), v); err != nil {
				return
			}
			err := v.Validate()
			if err != nil && !errors.Is(err, events.ErrMalformed) {
				t.Fatalf("%T: error %v is not ErrMalformed", v, err)
			}
			if err == nil {
				raw, _ := json.Marshal(v)
				for _, r := range string(raw) {
					if r == 0 {
						t.Fatalf("%T passed with a NUL: %s", v, raw)
					}
				}
			}
		}
		check(&events.MovieCreated{})
		check(&events.MovieUpdated{})
		check(&events.MovieDeleted{})
		check(&events.MovieViewed{})
		check(&events.UserAction{})
		check(&events.NotificationRequested{})
		var c events.MovieCreated
		if json.Unmarshal([]byte(data), &c) == nil && c.Validate() == nil {
			if len(c.MovieID) > events.MaxIDLength || (c.Year != nil && (*c.Year < events.MinYear || *c.Year > events.MaxYear)) {
				t.Fatalf("out of bounds passed: %+v", c)
			}
			for _, r := range c.Title {
				if unicode.IsControl(r) {
					t.Fatalf("control character in a valid title: %q", c.Title)
				}
			}
		}
	})
}
