package ui

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reelay/reelay/infra/router"
	"github.com/reelay/reelay/ops"
)

// The page decodes the admin API's answers into the types the API encodes
// them from (ops, router), so that a field renamed there cannot leave a
// blank cell here.

// recordsPage is how many dead letters one page of the listing shows.
const recordsPage = 20

// page serves the page, or the login form without a session.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	if !h.validSession(r) {
		h.render(w, "login", nil)
		return
	}
	h.render(w, "page", nil)
}

// failed renders an admin API error where the fragment would have been.
func (h *Handler) failed(w http.ResponseWriter, err error) {
	var ae *apiError
	msg := err.Error()
	if errors.As(err, &ae) {
		msg = ae.Error()
	}
	h.render(w, "error", msg)
}

// flowJSON passes the admin API's flow to the page's charts.
func (h *Handler) flowJSON(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if err := h.api.do(r.Context(), http.MethodGet, "/flow", nil, nil, &raw); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

func (h *Handler) flow(w http.ResponseWriter, r *http.Request) {
	var f ops.Flow
	if err := h.api.do(r.Context(), http.MethodGet, "/flow", nil, nil, &f); err != nil {
		h.failed(w, err)
		return
	}
	h.render(w, "flow", f)
}

func (h *Handler) lag(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Groups []ops.GroupLag `json:"groups"`
	}
	if err := h.api.do(r.Context(), http.MethodGet, "/lag", nil, nil, &body); err != nil {
		h.failed(w, err)
		return
	}
	type row struct {
		Group string
		ops.PartitionLag
	}
	type group struct {
		ops.GroupLag
		Rows     []row
		CaughtUp int
	}
	var out []group
	for _, g := range body.Groups {
		gv := group{GroupLag: g}
		for _, p := range g.Partitions {
			if p.Lag > 0 || p.Stuck {
				gv.Rows = append(gv.Rows, row{Group: g.Group, PartitionLag: p})
			} else {
				gv.CaughtUp++
			}
		}
		slices.SortFunc(gv.Rows, func(a, b row) int { // stuck first, then the largest lag
			if a.Stuck != b.Stuck {
				if a.Stuck {
					return -1
				}
				return 1
			}
			return cmp.Compare(b.Lag, a.Lag)
		})
		out = append(out, gv)
	}
	h.render(w, "lag", out)
}

func (h *Handler) summaries(r *http.Request) ([]ops.GroupSummary, error) {
	var body struct {
		Groups []ops.GroupSummary `json:"groups"`
	}
	err := h.api.do(r.Context(), http.MethodGet, "/deadletters", nil, nil, &body)
	return body.Groups, err
}

func (h *Handler) deadLetters(w http.ResponseWriter, r *http.Request) {
	groups, err := h.summaries(r)
	if err != nil {
		h.failed(w, err)
		return
	}
	h.render(w, "deadletters", groups)
}

// group serves one group's dead-letter panel: filters, actions and the
// first page of records. Without a group it shows the first group that has
// dead letters, else the first group.
func (h *Handler) group(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("group")
	if name == "" {
		groups, err := h.summaries(r)
		if err != nil {
			h.failed(w, err)
			return
		}
		for _, g := range groups {
			if g.Depth > 0 {
				name = g.Group
				break
			}
		}
		if name == "" && len(groups) > 0 {
			name = groups[0].Group
		}
		if name == "" {
			h.render(w, "error", "no consumer group is registered")
			return
		}
	}
	h.render(w, "group", map[string]string{"Group": name})
}

// listQuery is the query of the records listing, as the filter form sends it.
func listQuery(r *http.Request) url.Values {
	in := r.URL.Query()
	q := url.Values{}
	for _, k := range []string{"status", "handler", "key", "error", "cursor"} {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	if !q.Has("status") {
		q.Set("status", "pending")
	}
	return q
}

func (h *Handler) records(w http.ResponseWriter, r *http.Request) {
	group := r.URL.Query().Get("group")
	q := listQuery(r)
	q.Set("limit", strconv.Itoa(recordsPage))
	var body struct {
		Records []ops.DeadLetter `json:"records"`
		Next    string           `json:"next"`
	}
	err := h.api.do(r.Context(), http.MethodGet, "/deadletters/"+url.PathEscape(group)+"/records", q, nil, &body)
	if err != nil {
		h.failed(w, err)
		return
	}
	self := listQuery(r)
	self.Set("group", group)
	next := url.Values{}
	if body.Next != "" {
		next = listQuery(r)
		next.Set("group", group)
		next.Set("cursor", body.Next)
	}
	first := listQuery(r)
	first.Del("cursor")
	first.Set("group", group)
	h.render(w, "records", map[string]any{"Group": group, "Records": body.Records, "Self": self.Encode(),
		"Next": next.Encode(), "First": first.Encode(), "Paged": q.Has("cursor")})
}

func (h *Handler) record(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	path := "/deadletters/" + url.PathEscape(q.Get("group")) + "/records/" + url.PathEscape(q.Get("partition")) + "/" + url.PathEscape(q.Get("offset"))
	var d ops.FullDeadLetter
	if err := h.api.do(r.Context(), http.MethodGet, path, nil, nil, &d); err != nil {
		h.failed(w, err)
		return
	}
	h.render(w, "record", d)
}

// selection is the filter a replay or discard sends: the records ticked
// ("selected"), the filter form's fields ("filtered") or every pending
// record ("all").
func selection(r *http.Request) (map[string]any, error) {
	switch r.PostFormValue("mode") {
	case "all":
		return map[string]any{"all": true}, nil
	case "selected":
		var refs []map[string]int64
		for _, v := range r.PostForm["record"] {
			p, o, ok := strings.Cut(v, ":")
			pn, perr := strconv.ParseInt(p, 10, 32)
			on, oerr := strconv.ParseInt(o, 10, 64)
			if !ok || perr != nil || oerr != nil {
				return nil, errors.New("a selected record is not PARTITION:OFFSET")
			}
			refs = append(refs, map[string]int64{"partition": pn, "offset": on})
		}
		if len(refs) == 0 {
			return nil, errors.New("tick the records to act on first")
		}
		return map[string]any{"records": refs}, nil
	case "filtered":
		f := map[string]any{}
		for _, k := range []string{"handler", "key", "error"} {
			if v := strings.TrimSpace(r.PostFormValue(k)); v != "" {
				f[k] = v
			}
		}
		if len(f) == 0 {
			return nil, errors.New("set a handler, key or error filter first (or use all)")
		}
		return f, nil
	}
	return nil, errors.New("unknown mode")
}

func (h *Handler) replay(w http.ResponseWriter, r *http.Request) {
	group := r.PostFormValue("group")
	filter, err := selection(r)
	if err != nil {
		h.render(w, "error", err.Error())
		return
	}
	var body struct {
		Replay ops.Replay `json:"replay"`
	}
	if err := h.api.do(r.Context(), http.MethodPost, "/deadletters/"+url.PathEscape(group)+"/replay", nil,
		map[string]any{"filter": filter}, &body); err != nil {
		h.failed(w, err)
		return
	}
	h.render(w, "replay", body.Replay)
}

func (h *Handler) replayProgress(w http.ResponseWriter, r *http.Request) {
	var rp ops.Replay
	if err := h.api.do(r.Context(), http.MethodGet, "/replays/"+url.PathEscape(r.URL.Query().Get("id")), nil, nil, &rp); err != nil {
		h.failed(w, err)
		return
	}
	h.render(w, "replay", rp)
}

func (h *Handler) discard(w http.ResponseWriter, r *http.Request) {
	group := r.PostFormValue("group")
	filter, err := selection(r)
	if err != nil {
		h.render(w, "error", err.Error())
		return
	}
	reason := r.Header.Get("HX-Prompt")
	if r.Header.Get("HX-Prompt-URI-AutoEncoded") == "true" { // htmx encodes what a header cannot carry
		if decoded, err := url.PathUnescape(reason); err == nil {
			reason = decoded
		}
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		h.render(w, "error", "a discard needs a reason")
		return
	}
	var body struct {
		Discarded int `json:"discarded"`
	}
	if err := h.api.do(r.Context(), http.MethodPost, "/deadletters/"+url.PathEscape(group)+"/discard", nil,
		map[string]any{"filter": filter, "reason": reason, "by": "operations page"}, &body); err != nil {
		h.failed(w, err)
		return
	}
	h.render(w, "discarded", map[string]any{"Group": group, "Discarded": body.Discarded, "Reason": reason})
}

func (h *Handler) recentEvents(r *http.Request) ([]router.HandledEvent, error) {
	var body struct {
		Events []router.HandledEvent `json:"events"`
	}
	err := h.api.do(r.Context(), http.MethodGet, "/events/recent", url.Values{"limit": {"200"}}, nil, &body)
	return body.Events, err
}

// recentShown is how many recent events the table shows.
const recentShown = 50

func (h *Handler) recent(w http.ResponseWriter, r *http.Request) {
	evs, err := h.recentEvents(r)
	if err != nil {
		h.failed(w, err)
		return
	}
	h.render(w, "recent", evs[:min(len(evs), recentShown)])
}

func (h *Handler) event(w http.ResponseWriter, r *http.Request) {
	seq, _ := strconv.ParseUint(r.URL.Query().Get("seq"), 10, 64)
	evs, err := h.recentEvents(r)
	if err != nil {
		h.failed(w, err)
		return
	}
	for _, e := range evs {
		if e.Seq == seq {
			h.render(w, "event", e)
			return
		}
	}
	h.render(w, "error", "event "+strconv.FormatUint(seq, 10)+" is no longer among the last 200 this instance handled")
}

// funcs are the templates' helpers.
func funcs(now func() time.Time) template.FuncMap {
	return template.FuncMap{
		// ago says how long before now t was, in the largest unit.
		"ago": func(t any) string {
			var at time.Time
			switch v := t.(type) {
			case time.Time:
				at = v
			case *time.Time:
				if v == nil {
					return "—"
				}
				at = *v
			}
			if at.IsZero() {
				return "—"
			}
			d := now().Sub(at).Round(time.Second)
			switch {
			case d < time.Second:
				return "just now"
			case d < time.Minute:
				return strconv.Itoa(int(d.Seconds())) + " s ago"
			case d < time.Hour:
				return strconv.Itoa(int(d.Minutes())) + " min ago"
			case d < 48*time.Hour:
				return strconv.Itoa(int(d.Hours())) + " h ago"
			}
			return strconv.Itoa(int(d.Hours()/24)) + " days ago"
		},
		"clock": func(t time.Time) string { return t.UTC().Format("15:04:05.000") },
		"rfc3339": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				return v.UTC().Format(time.RFC3339Nano)
			case *time.Time:
				if v != nil {
					return v.UTC().Format(time.RFC3339Nano)
				}
			}
			return "—"
		},
		"outcome": func(m map[string]int64, k string) int64 { return m[k] },
		"other": func(m map[string]int64) int64 {
			return m["failed"] + m["dead_letter_failed"] + m["redelivered"]
		},
		"sortedKeys": func(m map[string]string) []string {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			return keys
		},
		"pretty": func(s string) string { // indented when it is JSON
			var v any
			if json.Unmarshal([]byte(s), &v) != nil {
				return s
			}
			out, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				return s
			}
			return string(out)
		},
		"base64": base64.StdEncoding.EncodeToString,
		"deref": func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		},
		"progress": func(r ops.Replay) int {
			if r.Total == 0 {
				return 100
			}
			return r.Published * 100 / r.Total
		},
	}
}
