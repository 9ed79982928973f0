package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the file names of everything "start" generates under <dir>/pki.
type pki struct {
	Dir string
}

func (p pki) path(name string) string { return filepath.Join(p.Dir, name) }

func (p pki) CACert() string           { return p.path("ca.crt") }
func (p pki) CAKey() string            { return p.path("ca.key") }
func (p pki) ServingCert() string      { return p.path("apiserver.crt") }
func (p pki) ServingKey() string       { return p.path("apiserver.key") }
func (p pki) AdminCert() string        { return p.path("admin.crt") }
func (p pki) AdminKey() string         { return p.path("admin.key") }
func (p pki) KCMCert() string          { return p.path("kube-controller-manager.crt") }
func (p pki) KCMKey() string           { return p.path("kube-controller-manager.key") }
func (p pki) KCMServingCert() string   { return p.path("kube-controller-manager-serving.crt") }
func (p pki) KCMServingKey() string    { return p.path("kube-controller-manager-serving.key") }
func (p pki) FrontProxyCACert() string { return p.path("front-proxy-ca.crt") }
func (p pki) FrontProxyCert() string   { return p.path("front-proxy-client.crt") }
func (p pki) FrontProxyKey() string    { return p.path("front-proxy-client.key") }
func (p pki) SAKey() string            { return p.path("sa.key") }
func (p pki) SAPub() string            { return p.path("sa.pub") }

type certSpec struct {
	cn     string
	orgs   []string
	dns    []string
	ips    []net.IP
	server bool
	client bool
}

// generate writes a fresh CA, serving and client certificates and the
// ServiceAccount token signing key pair.
func (p pki) generate() error {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return err
	}
	now := time.Now().Add(-time.Hour)
	caCert, caKey, err := newCA(p.CACert(), p.CAKey(), "testcluster-ca", now)
	if err != nil {
		return err
	}
	// Separate CA for the aggregation layer's request-header (front proxy)
	// authentication, as kubeadm sets it up.
	fpCACert, fpCAKey, err := newCA(p.FrontProxyCACert(), "", "testcluster-front-proxy-ca", now)
	if err != nil {
		return err
	}

	loop := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP("10.0.0.1")}
	specs := []struct {
		cert, key string
		spec      certSpec
		caCert    *x509.Certificate
		caKey     crypto.Signer
	}{
		{p.ServingCert(), p.ServingKey(), certSpec{
			cn:     "kube-apiserver",
			dns:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			ips:    loop,
			server: true,
		}, nil, nil},
		{p.KCMServingCert(), p.KCMServingKey(), certSpec{
			cn: "kube-controller-manager", dns: []string{"localhost"}, ips: loop, server: true,
		}, nil, nil},
		{p.AdminCert(), p.AdminKey(), certSpec{cn: "testcluster-admin", orgs: []string{"system:masters"}, client: true}, nil, nil},
		{p.KCMCert(), p.KCMKey(), certSpec{cn: "system:kube-controller-manager", client: true}, nil, nil},
		{p.FrontProxyCert(), p.FrontProxyKey(), certSpec{cn: "front-proxy-client", client: true}, fpCACert, fpCAKey},
	}
	for _, s := range specs {
		if s.caCert == nil {
			s.caCert, s.caKey = caCert, caKey
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial,
			Subject:      pkix.Name{CommonName: s.spec.cn, Organization: s.spec.orgs},
			NotBefore:    now,
			NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			DNSNames:     s.spec.dns,
			IPAddresses:  s.spec.ips,
		}
		if s.spec.server {
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		}
		if s.spec.client {
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caCert, key.Public(), s.caKey)
		if err != nil {
			return fmt.Errorf("certificate %s: %w", s.spec.cn, err)
		}
		if err := writeCert(s.cert, der); err != nil {
			return err
		}
		if err := writeKey(s.key, key); err != nil {
			return err
		}
	}

	// ServiceAccount token signing key: RSA 2048 (RS256), as kubeadm does.
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	if err := writeKey(p.SAKey(), saKey); err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return err
	}
	return os.WriteFile(p.SAPub(), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600)
}

// newCA writes a self-signed ECDSA CA certificate (and its key, if keyPath
// is not empty).
func newCA(certPath, keyPath, cn string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now,
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writeCert(certPath, der); err != nil {
		return nil, nil, err
	}
	if keyPath != "" {
		if err := writeKey(keyPath, key); err != nil {
			return nil, nil, err
		}
	}
	return cert, key, nil
}

func writeCert(path string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

func writeKey(path string, key crypto.Signer) error {
	var block *pem.Block
	switch k := key.(type) {
	case *rsa.PrivateKey:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return err
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	default:
		return fmt.Errorf("unsupported key type %T", key)
	}
	return os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
}
