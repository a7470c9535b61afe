// Package events holds Reelay's event contracts: topic and consumer-group
// names, event types and their data, the CloudEvents envelope and its codec,
// and the typed routing a consumer uses to turn an envelope into a call.
//
// It imports only the standard library and a UUID library, so handlers and
// producers in any layer can depend on it.
package events
