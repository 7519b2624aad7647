package temporalclient_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/billrun/billrun/internal/temporalclient"
	"github.com/billrun/billrun/internal/testenv"
)

const serverName = "temporal.billrun.test"

// pki is a certificate authority of the test's own, a server certificate
// for serverName and a client certificate, written as PEM files.
type pki struct {
	dir                       string
	pool                      *x509.CertPool
	server                    tls.Certificate
	caPath, certPath, keyPath string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), pool: x509.NewCertPool()}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "billrun test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.pool.AddCert(ca)
	p.caPath = p.write(t, "ca.pem", "CERTIFICATE", caDER)
	issue := func(serial int64, name string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	der, key := issue(2, serverName, x509.ExtKeyUsageServerAuth)
	p.server = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	der, key = issue(3, "billrun-worker", x509.ExtKeyUsageClientAuth)
	p.certPath = p.write(t, "client.pem", "CERTIFICATE", der)
	kb, _ := x509.MarshalECPrivateKey(key)
	p.keyPath = p.write(t, "client-key.pem", "EC PRIVATE KEY", kb)
	return p
}

func (p *pki) write(t *testing.T, name, kind string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// proxy is a TLS endpoint in front of the dev server, as a cluster's
// ingress or Temporal Cloud is: it asks for a client certificate signed by
// the CA (mTLS), or for the API key as a bearer token, and passes gRPC on.
func proxy(t *testing.T, p *pki, backend string, mtls bool, apiKey string) string {
	t.Helper()
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(&url.URL{Scheme: "http", Host: backend}) },
		Transport:     &http.Transport{Protocols: &h2c},
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0), // a worker stopping cancels its polls
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if apiKey != "" && r.Header.Get("Authorization") != "Bearer "+apiKey {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "16") // UNAUTHENTICATED
			w.Header().Set("Grpc-Message", "bad API key")
			w.WriteHeader(http.StatusOK)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}, ClientCAs: p.pool, MinVersion: tls.VersionTLS12}
	if mtls {
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).String()
}

func echo(_ workflow.Context, s string) (string, error) { return "echo: " + s, nil }

// TestAWorkflowRunsThroughASecuredEndpoint connects, with the Temporal
// CLI's variables only, to a TLS endpoint that wants a client certificate
// or an API key, runs a workflow through it, and is refused without them.
func TestAWorkflowRunsThroughASecuredEndpoint(t *testing.T) {
	backend := testenv.Require(t, "TEMPORAL_ADDRESS")
	p := newPKI(t)
	mtls := proxy(t, p, backend, true, "")
	keyed := proxy(t, p, backend, false, "billrun-test-key")
	cases := []struct {
		name    string
		env     map[string]string
		works   bool
		refusal string // a part of the refusal's message
	}{
		{"mTLS with the client's certificate", map[string]string{"TEMPORAL_ADDRESS": mtls,
			"TEMPORAL_TLS_CLIENT_CERT_PATH": p.certPath, "TEMPORAL_TLS_CLIENT_KEY_PATH": p.keyPath}, true, ""},
		{"mTLS without a certificate is refused", map[string]string{"TEMPORAL_ADDRESS": mtls}, false, "connect to Temporal"}, // TLS 1.3: an alert or a broken pipe, by timing
		{"an API key over TLS", map[string]string{"TEMPORAL_ADDRESS": keyed, "TEMPORAL_API_KEY": "billrun-test-key"}, true, ""},
		{"a wrong API key is refused", map[string]string{"TEMPORAL_ADDRESS": keyed, "TEMPORAL_API_KEY": "guess"}, false, "bad API key"},
		{"no TLS to a TLS endpoint is refused", map[string]string{"TEMPORAL_ADDRESS": keyed, "TEMPORAL_API_KEY": "billrun-test-key",
			"TEMPORAL_TLS": "false"}, false, "connect to Temporal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
			t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", p.caPath)
			t.Setenv("TEMPORAL_TLS_SERVER_NAME", serverName)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			opts, err := temporalclient.Resolve("", "")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cl, err := temporalclient.Dial(ctx, opts, nil)
			if !c.works {
				if err == nil {
					cl.Close()
					t.Fatal("connected")
				}
				if !strings.Contains(err.Error(), c.refusal) {
					t.Fatalf("refused with %v, want a message naming %q", err, c.refusal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			queue := "billrun-tls-" + strings.ReplaceAll(strings.ToLower(c.name), " ", "-")
			w := worker.New(cl, queue, worker.Options{})
			w.RegisterWorkflow(echo)
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, echo, "through TLS")
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if err := run.Get(ctx, &got); err != nil || got != "echo: through TLS" {
				t.Fatalf("%q, %v", got, err)
			}
		})
	}
}
