package ocitest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"time"
)

// dialHostname wraps dial so that connections to the registry's configured
// hostname reach its loopback listener instead of the name's real address:
// nothing leaves the machine.
func (reg *Registry) dialHostname(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err == nil && host == reg.cfg.hostname {
			reg.mu.Lock()
			addr = reg.addr
			reg.mu.Unlock()
		}
		return dial(ctx, network, addr)
	}
}

// selfSignedCert makes a certificate for hostname and the loopback
// addresses, valid for a year from an hour ago (a standalone registry may
// run for long).
func selfSignedCert(hostname string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ocitest: generating TLS key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"ocifixture test registry"}},
		DNSNames:              []string{hostname, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ocitest: creating TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// discardLog keeps net/http's own messages (TLS handshake errors from
// clients that do not trust the test certificate, aborted handlers) out of
// the test output: the registry is quiet unless WithLogf asks otherwise.
// Every server shares it: a log.Logger is safe for concurrent use.
var discardLog = log.New(io.Discard, "", 0)
