package test_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/reelay/reelay/infra/httpapi"
)

// apiRouter is the OpenAPI document the API serves, loaded and validated
// once, as a router of its operations.
var apiRouter = sync.OnceValues(func() (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	return legacy.NewRouter(doc)
})

// checkOpenAPI holds an exchange of the black-box suite to the OpenAPI
// document: every answer of a documented operation must be a documented
// status with a body of its schema, and a request the API accepted (2xx)
// must be one the document allows. Routes the document leaves out
// (/metrics, unknown paths) are not checked.
func checkOpenAPI(t *testing.T, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	router, err := apiRouter()
	if err != nil {
		t.Fatalf("the OpenAPI document: %v", err)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		return
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if resp.StatusCode/100 == 2 {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s %s was accepted (%d) but the OpenAPI document does not allow it: %v", req.Method, req.URL.Path, resp.StatusCode, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s answered %d %s, which the OpenAPI document does not describe: %v", req.Method, req.URL.Path, resp.StatusCode, respBody, err)
	}
}

// TestOpenAPIIsServed: the document at /openapi.json is the one the suite
// checks against, and it is a valid OpenAPI 3.1 document.
func TestOpenAPIIsServed(t *testing.T) {
	parallel(t)
	if _, err := apiRouter(); err != nil {
		t.Fatal(err)
	}
	in := start(t, testConfig(t))
	resp, err := http.Get(in.base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(raw, httpapi.OpenAPI) || !bytes.Contains(raw, []byte(`"openapi": "3.1.0"`)) {
		t.Fatalf("GET /openapi.json: %d, %d bytes", resp.StatusCode, len(raw))
	}
}
