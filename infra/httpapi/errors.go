package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/ops"
)

// apiError is the JSON body of every error answer.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func invalid(field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "validation_failed", Field: field, Message: fmt.Sprintf(format, args...)}
}

func notFound(what string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: what + " not found"}
}

// errorHandler turns every error into a JSON answer. Unexpected errors are
// logged and answered 500 without detail; bad input never reaches that branch.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae := toAPIError(err)
		if ae.Status >= 500 && ae.Code == "internal" {
			logger.ErrorContext(c.Request().Context(), "request failed", "err", err,
				"path", c.Path(), "correlation_id", c.Response().Header().Get(headerCorrelationID))
		}
		if ae.Status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		}
		_ = c.JSON(ae.Status, map[string]*apiError{"error": ae})
	}
}

// toAPIError maps every error to its answer, once: the API's own errors as
// they are, an operator's bad request (ops.ErrInvalid) as 400, what does not
// exist (ops.ErrNotFound) as 404, invalid event data (events.FieldError) as
// 400 naming the field,
// Echo's HTTP errors by status, anything else as a 500 without detail.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, ops.ErrInvalid):
		return &apiError{Status: http.StatusBadRequest, Code: "validation_failed", Message: strings.TrimPrefix(err.Error(), ops.ErrInvalid.Error()+": ")}
	case errors.Is(err, ops.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	}
	var fe *events.FieldError
	if errors.As(err, &fe) {
		return &apiError{Status: http.StatusBadRequest, Code: "validation_failed", Field: fe.Field, Message: fe.Message}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code := map[int]string{
			http.StatusNotFound:              "not_found",
			http.StatusMethodNotAllowed:      "method_not_allowed",
			http.StatusRequestEntityTooLarge: "payload_too_large",
			http.StatusUnsupportedMediaType:  "unsupported_media_type",
			http.StatusBadRequest:            "bad_request",
		}[he.Code]
		if code == "" {
			code = "http_error"
		}
		msg := http.StatusText(he.Code)
		if he.Code == http.StatusRequestEntityTooLarge {
			msg = fmt.Sprintf("request body is over %d bytes", maxBodyBytes)
		}
		return &apiError{Status: he.Code, Code: code, Message: msg}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// decodeJSON reads the request body into v: JSON content type, one JSON
// object, no unknown fields, types as declared.
func decodeJSON(c echo.Context, v any) error {
	if !isJSON(c.Request().Header.Get(echo.HeaderContentType)) {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "Content-Type must be application/json or a +json type"}
	}
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_json", Message: "body must hold a single JSON object"}
	}
	return nil
}

// isJSON reports whether a Content-Type is application/json or a +json type,
// with any parameters.
func isJSON(contentType string) bool {
	if contentType == echo.MIMEApplicationJSON {
		return true // the common case, without parsing
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == echo.MIMEApplicationJSON || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// jsonError maps a decoding error to an answer that names the field at
// fault and never shows internals (types, addresses).
func jsonError(err error) error {
	var (
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
		tooBig  *http.MaxBytesError
		netErr  net.Error
	)
	switch {
	case errors.As(err, &tooBig):
		return echo.ErrStatusRequestEntityTooLarge
	case errors.As(err, &netErr) && netErr.Timeout():
		return &apiError{Status: http.StatusRequestTimeout, Code: "request_timeout", Message: "the request body did not arrive in time"}
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_json", Message: "body must be a JSON object"}
	case errors.As(err, &typeErr):
		return invalid(typeErr.Field, "%s must be %s", typeErr.Field, jsonType(typeErr.Type.Kind()))
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_json", Message: "body is not valid JSON"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(field, "unknown field %q", field)
	default:
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_json", Message: "the request body could not be read as JSON"}
	}
}

// jsonType names a Go kind the way a JSON client knows it.
func jsonType(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}
