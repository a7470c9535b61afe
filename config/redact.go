package config

import "net/url"

// RedactURL returns what of a configured URL may be shown in an error, a log
// line or a response: its scheme and host. Credentials, path and query (where
// tokens live) are replaced by "…"; a value that does not parse as a URL
// is not shown at all.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "<unparsable URL>"
	}
	out := u.Scheme + "://"
	if u.User != nil {
		out += "…@"
	}
	out += u.Host
	if u.Path != "" || u.RawQuery != "" || u.Opaque != "" || u.Fragment != "" {
		out += "/…"
	}
	return out
}
