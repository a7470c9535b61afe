package kafka_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/reelay/reelay/infra/kafka"
)

// mechanisms are the SASL mechanisms Reelay supports, all of which kfake serves.
var mechanisms = []string{kafka.MechanismPlain, kafka.MechanismSCRAMSHA256, kafka.MechanismSCRAMSHA512}

// quick bounds how long a refused connection may take to fail; the real
// figure is well under a second.
const quick = 10 * time.Second

func sasl(mechanism, password string) kafka.Security {
	return kafka.Security{SASL: kafka.SASL{Mechanism: mechanism, User: "reelay", Password: password}}
}

// connect opens an admin client with sec and reports how long it took.
func connect(t *testing.T, addr string, sec kafka.Security) (time.Duration, error) {
	t.Helper()
	t0 := time.Now()
	a, err := kafka.NewAdmin([]string{addr}, 1, 1, kafka.WithSecurity(sec))
	took := time.Since(t0)
	if err == nil {
		err = a.EnsureTopics("security-test")
		_ = a.Close()
	}
	return took, err
}

func TestEmbeddedSASLAcceptsRightPasswordOnly(t *testing.T) {
	t.Parallel()
	for _, m := range mechanisms {
		t.Run(m, func(t *testing.T) {
			t.Parallel()
			b, err := kafka.StartEmbedded("127.0.0.1:0", t.TempDir(), kafka.WithSecurity(sasl(m, "right-pw")))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if _, err := connect(t, b.Addr(), sasl(m, "right-pw")); err != nil {
				t.Fatalf("right password refused: %v", err)
			}
			for name, sec := range map[string]kafka.Security{
				"wrong password": sasl(m, "wrong-pw"),
				"no SASL":        {},
			} {
				took, err := connect(t, b.Addr(), sec)
				if err == nil {
					t.Fatalf("%s accepted", name)
				}
				if took > quick {
					t.Fatalf("%s: refused after %s, want under %s", name, took, quick)
				}
				if strings.Contains(err.Error(), "wrong-pw") {
					t.Fatalf("the error shows the password: %v", err)
				}
				t.Logf("%s: refused in %s: %v", name, took.Round(time.Millisecond), err)
			}
		})
	}
}

// Apache Kafka answers wrong credentials with SASL_AUTHENTICATION_FAILED
// (kfake just closes the connection); the client must fail at once and say so.
func TestRefusedCredentialsFailFastWithAClearError(t *testing.T) {
	t.Parallel()
	for _, m := range mechanisms {
		t.Run(m, func(t *testing.T) {
			t.Parallel()
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(m, "reelay", "right-pw"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.ControlKey(int16(kmsg.SASLAuthenticate), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				resp := req.(*kmsg.SASLAuthenticateRequest).ResponseKind().(*kmsg.SASLAuthenticateResponse)
				resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
				msg := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + m
				resp.ErrorMessage = &msg
				return resp, nil, true
			})
			addr := c.ListenAddrs()[0]
			took, err := connect(t, addr, sasl(m, "wrong-pw"))
			if !errors.Is(err, kafka.ErrAuthentication) {
				t.Fatalf("%v, want ErrAuthentication", err)
			}
			msg := err.Error()
			if took > quick || strings.Contains(msg, "\n") || strings.Contains(msg, "wrong-pw") ||
				!strings.Contains(msg, "SASL authentication failed") || !strings.Contains(msg, addr) || !strings.Contains(msg, m) {
				t.Fatalf("after %s, want within %s one line naming the broker and mechanism, without the password: %v", took, quick, err)
			}
			t.Logf("refused in %s: %v", took.Round(time.Millisecond), err)
		})
	}
}

func TestEmbeddedRefusesNetworkWithoutSASL(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		_, err := kafka.StartEmbedded(addr, t.TempDir())
		if !errors.Is(err, kafka.ErrOpenToNetwork) {
			t.Fatalf("%s without SASL: %v, want ErrOpenToNetwork", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		b, err := kafka.StartEmbedded(addr, t.TempDir())
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		b.Close()
	}
	b, err := kafka.StartEmbedded("0.0.0.0:0", t.TempDir(), kafka.WithSecurity(sasl(kafka.MechanismSCRAMSHA256, "pw")))
	if err != nil {
		t.Fatalf("0.0.0.0 with SASL: %v", err)
	}
	b.Close()
}

// kfake saves its SASL users in the data dir and, on a restart, prefers them
// to the configured ones: a changed password must still take effect, and no
// credential may stay on disk.
func TestEmbeddedTakesCredentialsFromConfigAtEveryStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := kafka.StartEmbedded("127.0.0.1:0", dir, kafka.WithSecurity(sasl(kafka.MechanismPlain, "first-pw")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, first.Addr(), sasl(kafka.MechanismPlain, "first-pw")); err != nil {
		t.Fatal(err)
	}
	first.Close()
	err = filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if raw, _ := os.ReadFile(path); strings.Contains(string(raw), "first-pw") {
			return fmt.Errorf("%s holds the password", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	second, err := kafka.StartEmbedded("127.0.0.1:0", dir, kafka.WithSecurity(sasl(kafka.MechanismPlain, "second-pw")))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if _, err := connect(t, second.Addr(), sasl(kafka.MechanismPlain, "second-pw")); err != nil {
		t.Fatalf("new password after restart: %v", err)
	}
	if _, err := connect(t, second.Addr(), sasl(kafka.MechanismPlain, "first-pw")); err == nil {
		t.Fatal("old password still accepted after restart")
	}
}

func TestTLSVerifiesTheBrokerCertificate(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	other := newCA(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{ca.leaf(t, "127.0.0.1")},
		MinVersion:   tls.VersionTLS12,
	}), kfake.EnableSASL(), kfake.Superuser(kafka.MechanismSCRAMSHA512, "reelay", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	secure := func(roots *x509.CertPool, serverName string) kafka.Security {
		s := sasl(kafka.MechanismSCRAMSHA512, "pw")
		s.TLS = &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12}
		return s
	}
	if _, err := connect(t, addr, secure(ca.pool(), "")); err != nil {
		t.Fatalf("trusted CA: %v", err)
	}
	for name, sec := range map[string]kafka.Security{
		"untrusted CA":      secure(other.pool(), ""),
		"wrong server name": secure(ca.pool(), "kafka.example"),
	} {
		took, err := connect(t, addr, sec)
		if !errors.Is(err, kafka.ErrUntrustedCertificate) {
			t.Fatalf("%s: %v, want ErrUntrustedCertificate", name, err)
		}
		if took > quick || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "not trusted") ||
			!strings.Contains(err.Error(), addr) {
			t.Fatalf("%s: after %s, want one line naming the broker within %s: %v", name, took, quick, err)
		}
		t.Logf("%s: refused in %s: %v", name, took.Round(time.Millisecond), err)
	}
}

// ca is a throwaway certificate authority.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T) ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "reelay test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca{cert: cert, key: key}
}

func (c ca) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// leaf issues a server certificate for ip.
func (c ca) leaf(t *testing.T, ip string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: ip},
		IPAddresses:  []net.IP{net.ParseIP(ip)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
