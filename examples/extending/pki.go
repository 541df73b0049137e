package main

// The demo's certificates. Nothing here is Grantor API: in production the
// CA is your organisation's, and the certificates come from files.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// authority is a throwaway certificate authority for the demo.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// subject returns the distinguished name of the demo's certificates.
func subject(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"Example Corp"}}
}

// newAuthority generates a self-signed CA valid for a day.
func newAuthority() (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := template(subject("Example Demo CA"))
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key}, nil
}

// issue returns a certificate signed by the CA: for a TLS server on the
// loopback addresses, or for a TLS client.
func (a *authority) issue(name pkix.Name, server bool) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := template(name)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// template returns a certificate template for name with a random serial.
func template(name pkix.Name) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // never fails: crypto/rand panics instead
	now := time.Now()
	return &x509.Certificate{SerialNumber: serial, Subject: name, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(24 * time.Hour)}
}

// pool returns a pool holding only the CA, to verify peers with.
func (a *authority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// writeDemoFiles writes, in PEM, the CA certificate (ca.pem, for curl
// --cacert), the server's certificate and key (server.pem, server-key.pem)
// and a new certificate and key of the demo client (client.pem,
// client-key.pem, for curl --cert and --key).
func writeDemoFiles(dir string, ca *authority, server tls.Certificate) error {
	client, err := ca.issue(demoClientSubject, false)
	if err != nil {
		return err
	}
	files := map[string]*pem.Block{"ca.pem": {Type: "CERTIFICATE", Bytes: ca.cert.Raw}}
	for name, c := range map[string]tls.Certificate{"server": server, "client": client} {
		der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
		if err != nil {
			return err
		}
		files[name+".pem"] = &pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}
		files[name+"-key.pem"] = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o600); err != nil {
			return err
		}
	}
	return nil
}
