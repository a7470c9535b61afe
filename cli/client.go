package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/reelay/reelay/ops"
)

// client calls one instance's admin API (/admin/v1). Each request has its
// own deadline (--timeout); the token goes in the Authorization header and
// nowhere else.
type client struct {
	base    string // scheme://host[:port][/prefix], no trailing slash
	token   string
	timeout time.Duration
	http    *http.Client
}

// apiError is an answer of 4xx or 5xx. Code and Message come from the API's
// {"error":{"code","message"}} body; a body of another shape (a proxy's
// page) leaves Code empty.
type apiError struct {
	Status  int
	Code    string
	Message string
	noToken bool // the request went without a token
}

func (e *apiError) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Code == "" {
		msg = fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
		if e.Message != "" {
			msg += ": " + e.Message
		}
	}
	if e.Status == http.StatusUnauthorized && e.noToken {
		msg += " (no token: set REELAY_ADMIN_TOKEN or --token-file)"
	}
	return msg
}

// do sends one request and returns the body of a 2xx answer. body, when not
// nil, is sent as JSON.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	target := c.base + "/admin/v1" + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var reqBody io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reqBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w (--timeout %s)", err, c.timeout)
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, target, err)
	}
	if resp.StatusCode >= 300 {
		return nil, decodeError(resp.StatusCode, b, c.token == "")
	}
	return b, nil
}

// get sends a GET and decodes its answer into out. It returns the body too,
// for --json.
func (c *client) get(ctx context.Context, path string, query url.Values, out any) ([]byte, error) {
	b, err := c.do(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return nil, err
	}
	return b, decodeBody(b, out)
}

// post sends body as JSON and decodes the answer into out.
func (c *client) post(ctx context.Context, path string, body, out any) ([]byte, error) {
	b, err := c.do(ctx, http.MethodPost, path, nil, body)
	if err != nil {
		return nil, err
	}
	return b, decodeBody(b, out)
}

func decodeBody(b []byte, out any) error {
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the answer is not the JSON expected: %w", err)
	}
	return nil
}

func decodeError(status int, body []byte, noToken bool) error {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		return &apiError{Status: status, Code: e.Error.Code, Message: e.Error.Message, noToken: noToken}
	}
	// Not the API's error shape: show the start of the body on one line.
	msg := strings.Join(strings.Fields(string(body)), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &apiError{Status: status, Message: msg, noToken: noToken}
}

// groupPath is /deadletters/{group} with group escaped as one path segment.
func groupPath(group string) string {
	return "/deadletters/" + url.PathEscape(group)
}

// The API's answers, as far as the tables need them. --json prints the
// body as it came, so fields not named here still reach scripts.

// apiTime is an RFC 3339 time that may be null or absent (zero).
type apiTime struct{ time.Time }

func (t *apiTime) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" || s == `""` {
		t.Time = time.Time{}
		return nil
	}
	return t.Time.UnmarshalJSON(b)
}

type groupsAnswer struct {
	Groups []groupSummary `json:"groups"`
}

type groupSummary struct {
	Group        string         `json:"group"`
	Topic        string         `json:"topic"`
	Depth        int64          `json:"depth"`
	Total        int64          `json:"total"`
	Replayed     int64          `json:"replayed"`
	Discarded    int64          `json:"discarded"`
	Oldest       apiTime        `json:"oldest"`
	Newest       apiTime        `json:"newest"`
	ByHandler    map[string]int `json:"byHandler"`
	ByErrorClass map[string]int `json:"byErrorClass"`
}

type recordsAnswer struct {
	Records []record `json:"records"`
	Next    string   `json:"next"`
}

type record struct {
	Group          string            `json:"group"`
	Partition      int32             `json:"partition"`
	Offset         int64             `json:"offset"`
	Original       original          `json:"original"`
	Key            string            `json:"key"`
	Handler        string            `json:"handler"`
	Error          string            `json:"error"`
	ErrorClass     string            `json:"errorClass"`
	Attempts       int               `json:"attempts"`
	FirstFailure   apiTime           `json:"firstFailure"`
	LastFailure    apiTime           `json:"lastFailure"`
	DeadLetteredAt apiTime           `json:"deadLetteredAt"`
	EventID        string            `json:"eventId"`
	EventType      string            `json:"eventType"`
	EventSource    string            `json:"eventSource"`
	CorrelationID  string            `json:"correlationId"`
	ReplayCount    int               `json:"replayCount"`
	FromReplay     string            `json:"fromReplay"` // the replay whose event failed again, beyond the contract
	Truncated      bool              `json:"truncated"`
	Status         string            `json:"status"`
	ReplayID       string            `json:"replayId"`
	Discard        *discardNote      `json:"discard"`
	Headers        map[string]string `json:"headers"`
	PayloadSize    int64             `json:"payloadSize"`
	PayloadPreview string            `json:"payloadPreview"`
	// Only in GET …/records/{partition}/{offset}: one of the two.
	Payload       *string `json:"payload"`
	PayloadBase64 *string `json:"payloadBase64"`
}

type original struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Timestamp apiTime `json:"timestamp"`
}

type discardNote struct {
	By     string  `json:"by"`
	At     apiTime `json:"at"`
	Reason string  `json:"reason"`
}

type replayRequest struct {
	Filter ops.Filter `json:"filter"`
	DryRun bool       `json:"dryRun"`
}

type dryRunAnswer struct {
	DryRun  bool  `json:"dryRun"`
	Matched int64 `json:"matched"`
	// Skipped counts the matched records a replay would not send
	// (truncated copies, events replayed too often); beyond the contract,
	// zero when absent.
	Skipped int64    `json:"skipped"`
	Records []record `json:"records"`
}

type replayAnswer struct {
	Replay replay `json:"replay"`
}

type replay struct {
	ID          string  `json:"id"`
	Group       string  `json:"group"`
	Status      string  `json:"status"`
	Total       int64   `json:"total"`
	Published   int64   `json:"published"`
	Skipped     int64   `json:"skipped"`
	FailedAgain int64   `json:"failedAgain"`
	CreatedAt   apiTime `json:"createdAt"`
	UpdatedAt   apiTime `json:"updatedAt"`
	FinishedAt  apiTime `json:"finishedAt"`
}

type discardRequest struct {
	Filter ops.Filter `json:"filter"`
	Reason string     `json:"reason"`
	By     string     `json:"by"`
}

type discardAnswer struct {
	Discarded int64 `json:"discarded"`
}

type lagAnswer struct {
	Groups []groupLag `json:"groups"`
}

type groupLag struct {
	Group      string         `json:"group"`
	Lag        int64          `json:"lag"`
	Stuck      bool           `json:"stuck"`
	Partitions []partitionLag `json:"partitions"`
}

type partitionLag struct {
	Topic        string  `json:"topic"`
	Partition    int32   `json:"partition"`
	Committed    int64   `json:"committed"`
	End          int64   `json:"end"`
	Lag          int64   `json:"lag"`
	LastProgress apiTime `json:"lastProgress"`
	Stuck        bool    `json:"stuck"`
}

type topicsAnswer struct {
	Topics []topic `json:"topics"`
}

type topic struct {
	Name              string `json:"name"`
	Partitions        int32  `json:"partitions"`
	ReplicationFactor int16  `json:"replicationFactor"`
	Kind              string `json:"kind"`
}
