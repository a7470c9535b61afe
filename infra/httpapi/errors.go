package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
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

func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
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
// value, no unknown fields, types as declared.
func decodeJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if !strings.HasPrefix(strings.ToLower(ct), echo.MIMEApplicationJSON) {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "Content-Type must be application/json"}
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

func jsonError(err error) error {
	var (
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
		tooBig  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooBig):
		return echo.ErrStatusRequestEntityTooLarge
	case errors.As(err, &typeErr):
		return invalid(typeErr.Field, "%s must be %s", typeErr.Field, typeErr.Type.String())
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_json", Message: "body is not valid JSON"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(field, "unknown field %q", field)
	default:
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_json", Message: err.Error()}
	}
}
