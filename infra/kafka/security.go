package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms Reelay speaks, as Kafka names them.
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

// Security is how every Kafka client of the process connects: the
// publisher, each consumer group's subscriber and the admin all get it
// through baseConfig. The zero value is plaintext without authentication.
type Security struct {
	// TLS, when not nil, encrypts every connection and verifies each
	// broker's certificate with it (RootCAs; the server name defaults to the
	// broker's host). Certificates in it are presented as the client's.
	TLS *tls.Config
	// SASL authenticates every connection when its Mechanism is set.
	SASL SASL
}

// Option configures a client or the embedded broker.
type Option func(*options)

type options struct{ security Security }

// WithSecurity makes a client connect with s (TLS and SASL), or the embedded
// broker require s.SASL's credentials.
func WithSecurity(s Security) Option { return func(o *options) { o.security = s } }

func applyOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// SASL is one user's credentials for a SASL mechanism.
type SASL struct {
	// Mechanism is MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512,
	// or empty for none.
	Mechanism string
	User      string
	// Password is never printed: String, GoString and every error leave it out.
	Password string
}

// Enabled reports whether connections authenticate.
func (s SASL) Enabled() bool { return s.Mechanism != "" }

// String names the mechanism and the user, never the password.
func (s SASL) String() string {
	if !s.Enabled() {
		return "no SASL"
	}
	return fmt.Sprintf("%s user %q", s.Mechanism, s.User)
}

// GoString is String, so that %#v does not print the password either.
func (s SASL) GoString() string { return s.String() }

// AsMechanism is the franz-go form of the credentials (nil when SASL is
// off): Sarama's SCRAM exchange runs on it, and a franz-go client takes it
// as kgo.SASL(s.AsMechanism()), with kgo.DialTLSConfig(security.TLS).
func (s SASL) AsMechanism() sasl.Mechanism {
	switch s.Mechanism {
	case MechanismPlain:
		return plain.Auth{User: s.User, Pass: s.Password}.AsMechanism()
	case MechanismSCRAMSHA256:
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha256Mechanism()
	case MechanismSCRAMSHA512:
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism()
	}
	return nil
}

// kgoOpts are the franz-go options that connect with s.
func (s Security) kgoOpts() []kgo.Opt {
	var opts []kgo.Opt
	if s.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(s.TLS.Clone()))
	}
	if m := s.SASL.AsMechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts
}

// apply sets Sarama's TLS and SASL settings.
func (s Security) apply(c *sarama.Config) {
	if s.TLS != nil {
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = s.TLS
	}
	if !s.SASL.Enabled() {
		return
	}
	c.Net.SASL.Enable = true
	c.Net.SASL.Handshake = true
	c.Net.SASL.Version = sarama.SASLHandshakeV1
	c.Net.SASL.Mechanism = sarama.SASLMechanism(s.SASL.Mechanism)
	c.Net.SASL.User = s.SASL.User
	c.Net.SASL.Password = s.SASL.Password
	switch s.SASL.Mechanism {
	case MechanismSCRAMSHA256:
		c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{sha512: false} }
	case MechanismSCRAMSHA512:
		c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{sha512: true} }
	}
}

// scramClient runs one SCRAM exchange for Sarama on franz-go's SCRAM
// implementation (already in Reelay's module graph through kfake).
type scramClient struct {
	sha512  bool
	mech    sasl.Mechanism
	session sasl.Session
	done    bool
}

// Begin takes the credentials Sarama holds in Net.SASL.
func (c *scramClient) Begin(user, password, authzID string) error {
	a := scram.Auth{User: user, Pass: password, Zid: authzID}
	if c.sha512 {
		c.mech = a.AsSha512Mechanism()
	} else {
		c.mech = a.AsSha256Mechanism()
	}
	return nil
}

// Step answers the server's message; the first call (empty challenge)
// returns the client-first message.
func (c *scramClient) Step(challenge string) (string, error) {
	if c.session == nil {
		s, first, err := c.mech.Authenticate(context.Background(), "")
		if err != nil {
			return "", err
		}
		c.session = s
		return string(first), nil
	}
	done, next, err := c.session.Challenge([]byte(challenge))
	c.done = done
	return string(next), err
}

// Done reports whether the server's signature was verified.
func (c *scramClient) Done() bool { return c.done }

// ErrAuthentication and ErrUntrustedCertificate classify a failed
// connection: the broker refused the SASL credentials, or its certificate
// does not verify against the configured CA.
var (
	ErrAuthentication       = errors.New("SASL authentication failed")
	ErrUntrustedCertificate = errors.New("broker certificate is not trusted")
)

// connectError says in one line why what (e.g. "kafka admin") could not
// connect to brokers: wrong SASL credentials and untrusted broker
// certificates are named as such (errors.Is with ErrAuthentication or
// ErrUntrustedCertificate, and with err); any other error is wrapped as it is.
func connectError(what string, brokers []string, sec Security, err error) error {
	at := strings.Join(brokers, ",")
	var verify *tls.CertificateVerificationError
	switch {
	case errors.Is(err, sarama.ErrSASLAuthenticationFailed):
		return &classified{
			msg:  fmt.Sprintf("%s: %v at broker %s (%s): %v", what, ErrAuthentication, at, sec.SASL, err),
			errs: []error{ErrAuthentication, err},
		}
	case errors.As(err, &verify):
		return &classified{
			msg:  fmt.Sprintf("%s: %v: broker %s: %v", what, ErrUntrustedCertificate, at, verify),
			errs: []error{ErrUntrustedCertificate, err},
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// classified is an error with its own text that matches both its class and
// the error it explains.
type classified struct {
	msg  string
	errs []error
}

func (e *classified) Error() string   { return e.msg }
func (e *classified) Unwrap() []error { return e.errs }
