package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// IdempotencyStore keeps Idempotency-Key claims and the answers given to
// them. A fingerprint identifies a request: method, path and body.
type IdempotencyStore interface {
	// ClaimIdempotencyKey takes key for a request with fingerprint and
	// reports whether the caller now holds it: when the key is unknown or
	// expired, or held by a request with the same fingerprint whose claim
	// was released or outlived its lease. The key expires ttl after the claim.
	ClaimIdempotencyKey(ctx context.Context, key, fingerprint string, lease, ttl time.Duration) (bool, error)
	// IdempotencyKey returns the fingerprint of the request that holds or
	// held key and its answer; status is 0 while there is none. An unknown
	// or expired key has an empty fingerprint.
	IdempotencyKey(ctx context.Context, key string) (fingerprint string, status int, body []byte, err error)
	// CompleteIdempotencyKey stores the holder's answer.
	CompleteIdempotencyKey(ctx context.Context, key, fingerprint string, status int, body []byte) error
	// ReleaseIdempotencyKey ends the holder's claim without an answer; the
	// fingerprint stays.
	ReleaseIdempotencyKey(ctx context.Context, key, fingerprint string) error
	// ForgetIdempotencyKey deletes the holder's claim: the key is free again.
	ForgetIdempotencyKey(ctx context.Context, key, fingerprint string) error
}

const (
	// DefaultIdempotencyTTL is how long a key is remembered by default.
	DefaultIdempotencyTTL = 24 * time.Hour
	// idempotencyLease bounds how long a claim blocks its key when its
	// instance dies mid-request: longer than a publish that Kafka answers.
	idempotencyLease = 30 * time.Second
	maxIdemKeyLen    = 255
	// ctxFingerprint holds the request's fingerprint in the Echo context.
	ctxFingerprint = "reelay.idempotency.fingerprint"
	// headerReplayed marks an answer repeated from the store.
	headerReplayed = "Idempotent-Replayed"
)

// idempotency implements Idempotency-Key (IETF draft) on routes that
// publish. A request with a key runs once per key and fingerprint:
//   - the first claims the key; its 2xx answer is stored and repeated to
//     every retry with the same body until the key expires;
//   - a 5xx releases the claim (the event may or may not be stored), so a
//     retry runs again and publishes the same event id, which the
//     consumers' inboxes deduplicate;
//   - a 4xx forgets the claim: nothing was published, and the client may
//     send a corrected body under the same key;
//   - the same key with another body is answered 422 idempotency_key_reused,
//     and while the first request runs 409 idempotency_key_in_flight.
//
// Requests without the header pass through untouched.
type idempotency struct {
	store  IdempotencyStore
	ttl    time.Duration
	lease  time.Duration
	logger *slog.Logger
}

func (m idempotency) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get(headerIdemKey)
		if key == "" {
			return next(c)
		}
		if len(key) > maxIdemKeyLen {
			return invalid(headerIdemKey, "Idempotency-Key must be at most %d characters", maxIdemKeyLen)
		}
		for i := 0; i < len(key); i++ {
			if key[i] < 0x20 || key[i] > 0x7e { // the draft's sf-string: printable ASCII
				return invalid(headerIdemKey, "Idempotency-Key must be printable ASCII")
			}
		}
		fp, err := fingerprint(c.Request())
		if err != nil {
			return err
		}
		c.Set(ctxFingerprint, fp)
		ctx := c.Request().Context()
		for range 3 { // a key forgotten or expired between claim and read is claimed again
			claimed, err := m.store.ClaimIdempotencyKey(ctx, key, fp, m.lease, m.ttl)
			if err != nil {
				return m.unavailable(ctx, err)
			}
			if claimed {
				return m.run(c, next, key, fp)
			}
			prior, status, body, err := m.store.IdempotencyKey(ctx, key)
			switch {
			case err != nil:
				return m.unavailable(ctx, err)
			case prior == "":
				continue
			case prior != fp:
				return &apiError{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused",
					Message: "this Idempotency-Key was used for a different request"}
			case status > 0:
				c.Response().Header().Set(headerReplayed, "true")
				return c.JSONBlob(status, body)
			default:
				return inFlight(c)
			}
		}
		return inFlight(c)
	}
}

// run calls next as the key's holder and ends the claim by the answer.
func (m idempotency) run(c echo.Context, next echo.HandlerFunc, key, fp string) (err error) {
	res := c.Response()
	rec := &recorder{ResponseWriter: res.Writer}
	res.Writer = rec
	defer func() {
		res.Writer = rec.ResponseWriter
		// Ending the claim must not depend on the client still waiting.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 5*time.Second)
		defer cancel()
		if r := recover(); r != nil {
			m.end(ctx, m.store.ReleaseIdempotencyKey(ctx, key, fp))
			panic(r)
		}
		status := res.Status
		if err != nil {
			status = toAPIError(err).Status
		}
		switch {
		case err == nil && status >= 200 && status < 300:
			m.end(ctx, m.store.CompleteIdempotencyKey(ctx, key, fp, status, rec.body.Bytes()))
		case status >= 500:
			m.end(ctx, m.store.ReleaseIdempotencyKey(ctx, key, fp))
		default:
			m.end(ctx, m.store.ForgetIdempotencyKey(ctx, key, fp))
		}
	}()
	return next(c)
}

// end logs a claim that could not be ended: it lapses after its lease.
func (m idempotency) end(ctx context.Context, err error) {
	if err != nil {
		m.logger.WarnContext(ctx, "idempotency key not updated; it lapses after its lease", "err", err)
	}
}

func (m idempotency) unavailable(ctx context.Context, err error) error {
	m.logger.WarnContext(ctx, "idempotency store failed", "err", err)
	return &apiError{Status: http.StatusServiceUnavailable, Code: "idempotency_store_unavailable",
		Message: "the Idempotency-Key could not be checked; retry later with the same Idempotency-Key"}
}

func inFlight(c echo.Context) error {
	c.Response().Header().Set("Retry-After", strconv.Itoa(1))
	return &apiError{Status: http.StatusConflict, Code: "idempotency_key_in_flight",
		Message: "a request with this Idempotency-Key is still being processed; retry later"}
}

// fingerprint hashes method, path with query, and body; it buffers the body
// (at most maxBodyBytes, as bodyLimit enforces) for the route to read again.
func fingerprint(r *http.Request) (string, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return "", jsonError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// recorder keeps a copy of the answer's body.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
