package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
)

// api calls the admin API in process, through the server's handler, with
// the admin token.
type api struct {
	handler http.Handler
	token   string
	logger  *slog.Logger
}

// apiError is an admin API answer that is not 2xx, as the page shows it.
type apiError struct {
	Method, Path string
	Status       int
	Code         string
	Message      string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s answered %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
}

// do sends one request to /admin/v1+path and decodes a 2xx answer into
// out; any other answer is an *apiError.
func (a api) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	target := "/admin/v1" + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := &response{header: http.Header{}, status: http.StatusOK}
	a.handler.ServeHTTP(w, req)
	if w.status/100 != 2 {
		e := &apiError{Method: method, Path: "/admin/v1" + path, Status: w.status}
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(w.body.Bytes(), &eb) == nil {
			e.Code, e.Message = eb.Error.Code, eb.Error.Message
		}
		a.logger.Warn("ui: admin API call failed", "method", method, "path", e.Path, "status", e.Status, "code", e.Code)
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(w.body.Bytes(), out); err != nil {
		return fmt.Errorf("%s %s: the answer does not decode: %w", method, target, err)
	}
	return nil
}

// response is an in-memory http.ResponseWriter.
type response struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *response) Header() http.Header { return r.header }

func (r *response) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *response) Write(p []byte) (int, error) {
	r.wrote = true
	return r.body.Write(p)
}
