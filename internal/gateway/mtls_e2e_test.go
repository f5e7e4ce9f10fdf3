package gateway_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/function"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/gateway/gatewaytest"
)

// The mutual TLS tests run through the real listener (gateway.NewServer
// with TLS) with clients presenting certificates made in the test.

// mtlsSpec is a deployment with mutual TLS on (allowedSans sans) whose GET
// route /r leads to b and whose route /stock answers 200.
func mtlsSpec(b *gatewaytest.Backend, sans ...string) map[string]any {
	spec := gatewaytest.Spec(nil,
		gatewaytest.Methods(gatewaytest.HTTPRoute("/r", b.URL+"/r", nil), "GET", "PUT"),
		gatewaytest.StockRoute("/stock", 200, "stock", nil))
	list := make([]any, len(sans))
	for i, s := range sans {
		list[i] = s
	}
	spec["requestPolicies"] = map[string]any{"mutualTls": map[string]any{"isVerifiedCertificateRequired": true, "allowedSans": list}}
	return spec
}

// startMTLS serves spec at gatewaytest.Prefix over TLS, with ca as
// keygate's client CA (nil: none).
func startMTLS(t *testing.T, spec map[string]any, ca *config.ClientCA, b *gatewaytest.Backend, o gatewaytest.Options) *gatewaytest.Gateway {
	t.Helper()
	d, err := gatewaytest.Deployment(gatewaytest.Prefix, spec)
	if err != nil {
		t.Fatal(err)
	}
	o.TLS = true
	cfg := &config.Gateway{Listen: "127.0.0.1:0", Deployments: []config.Deployment{d}, ClientCA: ca}
	return gatewaytest.StartConfig(t, cfg, b, o)
}

// send makes one request with client and returns what came back.
func send(t *testing.T, client *http.Client, method, url string, header http.Header) gatewaytest.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return gatewaytest.Response{Status: resp.StatusCode, Header: resp.Header, Body: string(body), ID: resp.Header.Get("opc-request-id")}
}

func TestMutualTLS(t *testing.T) {
	pki := gatewaytest.NewPKI(t, "Partner Root CA")
	inter := pki.Intermediate(t, "Partner Issuing CA")
	deep := inter.Intermediate(t, "Partner Team CA")
	stranger := gatewaytest.NewPKI(t, "Stranger CA")
	b := gatewaytest.NewBackend(t)
	g := startMTLS(t, mtlsSpec(b, "*.partner.example.com", "legacy client", "spiffe://partner.example.com/*", "*@partner.example.com"),
		pki.ClientCA(), b, gatewaytest.Options{})
	dns := gatewaytest.ClientCert{CN: "api", DNS: []string{"api.partner.example.com"}}
	onlyLeaf := inter.Issue(t, dns)
	onlyLeaf.Certificate = onlyLeaf.Certificate[:1]
	tests := []struct {
		name   string
		cert   *tls.Certificate
		status int
		code   string
		reason string
	}{
		{"matching DNS SAN", ptr(pki.Issue(t, dns)), 200, "", ""},
		{"DNS SAN in another case", ptr(pki.Issue(t, gatewaytest.ClientCert{DNS: []string{"API.Partner.Example.COM"}})), 200, "", ""},
		{"CN only, matched by CN", ptr(pki.Issue(t, gatewaytest.ClientCert{CN: "Legacy Client"})), 200, "", ""},
		{"URI SAN", ptr(pki.Issue(t, gatewaytest.ClientCert{URIs: []string{"spiffe://partner.example.com/billing"}})), 200, "", ""},
		{"email SAN", ptr(pki.Issue(t, gatewaytest.ClientCert{Emails: []string{"ops@partner.example.com"}})), 200, "", ""},
		{"through an intermediate (chain of 3)", ptr(inter.Issue(t, dns)), 200, "", ""},
		{"wrong SAN", ptr(pki.Issue(t, gatewaytest.ClientCert{CN: "api.partner.example.com.evil.test", DNS: []string{"evil.example.com"}})),
			401, "mutualTls.clientCertificateSanInvalid", "client_certificate_san_not_allowed"},
		{"no certificate", nil, 401, "mutualTls.clientCertificateInvalid", "client_certificate_missing"},
		{"expired", ptr(pki.Issue(t, gatewaytest.ClientCert{DNS: dns.DNS, NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Minute)})),
			401, "mutualTls.clientCertificateInvalid", "client_certificate_invalid"},
		{"not yet valid", ptr(pki.Issue(t, gatewaytest.ClientCert{DNS: dns.DNS, NotBefore: time.Now().Add(time.Hour), NotAfter: time.Now().Add(2 * time.Hour)})),
			401, "mutualTls.clientCertificateInvalid", "client_certificate_invalid"},
		{"untrusted CA", ptr(stranger.Issue(t, dns)), 401, "mutualTls.clientCertificateInvalid", "client_certificate_invalid"},
		{"server certificate (no clientAuth usage)", ptr(pki.Issue(t, gatewaytest.ClientCert{DNS: dns.DNS, Usage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})),
			401, "mutualTls.clientCertificateInvalid", "client_certificate_invalid"},
		{"intermediate not sent", &onlyLeaf, 401, "mutualTls.clientCertificateInvalid", "client_certificate_invalid"},
		{"chain of 4", ptr(deep.Issue(t, dns)), 401, "mutualTls.clientCertificateInvalid", "client_certificate_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := b.Count()
			res := send(t, g.Presenting(t, tt.cert), http.MethodGet, g.URL+gatewaytest.Prefix+"/r", nil)
			if res.Status != tt.status {
				t.Fatalf("status = %d, want %d (log %v)", res.Status, tt.status, g.Log.Exec(t, res.ID))
			}
			if tt.status == 200 {
				if got := b.ByID(res.ID); len(got) != 1 {
					t.Errorf("backend received the request %d times, want once", len(got))
				}
				return
			}
			if got := b.Since(before); len(got) != 0 {
				t.Errorf("backend received %d requests, want none", len(got))
			}
			gatewaytest.CheckErrorBody(t, res.Body, tt.status)
			if h := res.Header.Get("WWW-Authenticate"); h != "" {
				t.Errorf("WWW-Authenticate = %q, want none (no HTTP scheme names a TLS client certificate)", h)
			}
			line := g.Log.Rejection(t, res.ID)
			if line["code"] != tt.code || line["reason"] != tt.reason {
				t.Errorf("log code, reason = %v, %v; want %s, %s", line["code"], line["reason"], tt.code, tt.reason)
			}
			if tt.cert != nil && line["subject"] == nil {
				t.Errorf("log line %v does not name the certificate's subject", line)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestMutualTLSOverHTTP2(t *testing.T) {
	pki := gatewaytest.NewPKI(t, "Root")
	g := startMTLS(t, mtlsSpec(gatewaytest.NewBackend(t)), pki.ClientCA(), nil, gatewaytest.Options{})
	client := g.Presenting(t, ptr(pki.Issue(t, gatewaytest.ClientCert{CN: "anyone"})))
	req, _ := http.NewRequest(http.MethodGet, g.URL+gatewaytest.Prefix+"/stock", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// allowedSans is empty: any certificate of the client CA passes.
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" {
		t.Errorf("got %d over %s, want 200 over HTTP/2.0", resp.StatusCode, resp.Proto)
	}
}

func TestMutualTLSSanPatterns(t *testing.T) {
	pki := gatewaytest.NewPKI(t, "Root")
	server := ptr(pki.Issue(t, gatewaytest.ClientCert{DNS: []string{"server.example.com"}}))
	other := ptr(pki.Issue(t, gatewaytest.ClientCert{DNS: []string{"server.example.net.evil"}, CN: "example"}))
	for _, pattern := range []string{"*.example.com", "server.example.*", "*.example.*", "server.example.com", "SERVER.EXAMPLE.COM"} {
		t.Run(pattern, func(t *testing.T) {
			g := startMTLS(t, mtlsSpec(gatewaytest.NewBackend(t), pattern), pki.ClientCA(), nil, gatewaytest.Options{})
			if res := send(t, g.Presenting(t, server), http.MethodGet, g.URL+gatewaytest.Prefix+"/stock", nil); res.Status != 200 {
				t.Errorf("server.example.com: status = %d, want 200", res.Status)
			}
			wantOther := 401
			if pattern == "server.example.*" || pattern == "*.example.*" {
				wantOther = 200 // server.example.net.evil: '*' is any characters, dots included
			}
			if res := send(t, g.Presenting(t, other), http.MethodGet, g.URL+gatewaytest.Prefix+"/stock", nil); res.Status != wantOther {
				t.Errorf("server.example.net.evil: status = %d, want %d", res.Status, wantOther)
			}
		})
	}
	t.Run("server.*.com", func(t *testing.T) {
		_, err := gatewaytest.Deployment(gatewaytest.Prefix, mtlsSpec(gatewaytest.NewBackend(t), "server.*.com"))
		if err == nil || !strings.Contains(err.Error(), `requestPolicies.mutualTls.allowedSans[0]: "server.*.com" has a '*' inside`) {
			t.Errorf("error = %v, want the inner '*' refused at its path", err)
		}
	})
}

func TestMutualTLSHidesRoutes(t *testing.T) {
	pki := gatewaytest.NewPKI(t, "Root")
	b := gatewaytest.NewBackend(t)
	g := startMTLS(t, mtlsSpec(b), pki.ClientCA(), b, gatewaytest.Options{})
	anon := g.Presenting(t, nil)
	cert := g.Presenting(t, ptr(pki.Issue(t, gatewaytest.ClientCert{CN: "c"})))
	tests := []struct {
		name, method, path string
		without, with      int
	}{
		{"no such route", http.MethodGet, "/nope", 401, 404},
		{"method the route does not take", http.MethodDelete, "/r", 401, 405},
		{"refused path", http.MethodGet, "/r/..%3B/x", 401, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := send(t, anon, tt.method, g.URL+gatewaytest.Prefix+tt.path, nil)
			if res.Status != tt.without {
				t.Errorf("without a certificate: status = %d, want %d", res.Status, tt.without)
			}
			if reason := g.Log.Reason(t, res.ID); reason != "client_certificate_missing" {
				t.Errorf("without a certificate: reason = %q, want client_certificate_missing", reason)
			}
			if res := send(t, cert, tt.method, g.URL+gatewaytest.Prefix+tt.path, nil); res.Status != tt.with {
				t.Errorf("with a certificate: status = %d, want %d", res.Status, tt.with)
			}
		})
	}
	// A path no deployment serves is no deployment's to protect.
	if res := send(t, anon, http.MethodGet, g.URL+"/elsewhere", nil); res.Status != 404 {
		t.Errorf("outside the deployment: status = %d, want 404", res.Status)
	}
}

func TestMutualTLSWithCORS(t *testing.T) {
	const origin = "https://app.example.com"
	pki := gatewaytest.NewPKI(t, "Root")
	b := gatewaytest.NewBackend(t)
	spec := mtlsSpec(b)
	spec["requestPolicies"].(map[string]any)["cors"] = map[string]any{
		"allowedOrigins": []any{origin}, "allowedMethods": []any{"PUT"}, "isAllowCredentialsEnabled": true}
	g := startMTLS(t, spec, pki.ClientCA(), b, gatewaytest.Options{})
	anon := g.Presenting(t, nil)

	// Browsers send preflights without credentials, and a client
	// certificate is one: the preflight is answered without it.
	preflight := http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"PUT"}}
	res := send(t, anon, http.MethodOptions, g.URL+gatewaytest.Prefix+"/r", preflight)
	if res.Status != 204 || res.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("preflight without a certificate: %d, Access-Control-Allow-Origin %q; want 204, %s",
			res.Status, res.Header.Get("Access-Control-Allow-Origin"), origin)
	}
	// The request itself needs the certificate; its 401 is readable by the
	// page, as every refusal of a route with a cors policy is.
	res = send(t, anon, http.MethodPut, g.URL+gatewaytest.Prefix+"/r", http.Header{"Origin": {origin}})
	if res.Status != 401 || res.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("PUT without a certificate: %d, Access-Control-Allow-Origin %q; want 401, %s",
			res.Status, res.Header.Get("Access-Control-Allow-Origin"), origin)
	}
	cert := g.Presenting(t, ptr(pki.Issue(t, gatewaytest.ClientCert{CN: "c"})))
	if res := send(t, cert, http.MethodPut, g.URL+gatewaytest.Prefix+"/r", http.Header{"Origin": {origin}}); res.Status != 200 {
		t.Errorf("PUT with a certificate: status = %d, want 200", res.Status)
	}
	// An OPTIONS that is no preflight is a request like any other.
	if res := send(t, anon, http.MethodOptions, g.URL+gatewaytest.Prefix+"/r", nil); res.Status != 401 {
		t.Errorf("plain OPTIONS without a certificate: status = %d, want 401", res.Status)
	}
}

func TestMutualTLSUsesTheGatewaysClock(t *testing.T) {
	pki := gatewaytest.NewPKI(t, "Root")
	cert := ptr(pki.Issue(t, gatewaytest.ClientCert{CN: "c"})) // valid for an hour either side of now
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	g := startMTLS(t, mtlsSpec(gatewaytest.NewBackend(t)), pki.ClientCA(), nil, gatewaytest.Options{Now: later})
	res := send(t, g.Presenting(t, cert), http.MethodGet, g.URL+gatewaytest.Prefix+"/stock", nil)
	if res.Status != 401 || g.Log.Reason(t, res.ID) != "client_certificate_invalid" {
		t.Errorf("status %d, reason %q; want 401 client_certificate_invalid (expired by the gateway's clock)", res.Status, g.Log.Reason(t, res.ID))
	}
}

// handshakeAsks reports whether g's listener asks a TLS client for a
// certificate in the handshake.
func handshakeAsks(t *testing.T, g *gatewaytest.Gateway) bool {
	t.Helper()
	asked := false
	cfg := g.Client.Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asked = true
		return &tls.Certificate{}, nil
	}
	conn, err := tls.Dial("tcp", g.Addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	return asked
}

func TestMutualTLSOffBlockLoadsWithoutCA(t *testing.T) {
	b := gatewaytest.NewBackend(t)
	spec := mtlsSpec(b)
	// The block every export of a live OCI deployment holds.
	spec["requestPolicies"] = map[string]any{"mutualTls": map[string]any{"isVerifiedCertificateRequired": false, "allowedSans": []any{}}}
	g := startMTLS(t, spec, nil, b, gatewaytest.Options{})
	if res := send(t, g.Presenting(t, nil), http.MethodGet, g.URL+gatewaytest.Prefix+"/r", nil); res.Status != 200 {
		t.Errorf("status = %d, want 200", res.Status)
	}
	if handshakeAsks(t, g) {
		t.Error("the listener asks for a client certificate though no deployment has mutual TLS on (browsers would prompt)")
	}
}

func TestMutualTLSPerDeployment(t *testing.T) {
	pki := gatewaytest.NewPKI(t, "Root")
	b := gatewaytest.NewBackend(t)
	on, err := gatewaytest.Deployment("/partners", mtlsSpec(b, "*.partner.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	offSpec := mtlsSpec(b, "ignored.example.com")
	offSpec["requestPolicies"].(map[string]any)["mutualTls"].(map[string]any)["isVerifiedCertificateRequired"] = false
	off, err := gatewaytest.Deployment("/public", offSpec)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Gateway{Listen: "127.0.0.1:0", Deployments: []config.Deployment{on, off}, ClientCA: pki.ClientCA()}
	g := gatewaytest.StartConfig(t, cfg, b, gatewaytest.Options{TLS: true})
	if !handshakeAsks(t, g) {
		t.Error("the listener does not ask for a client certificate, though /partners has mutual TLS on")
	}
	other := g.Presenting(t, ptr(pki.Issue(t, gatewaytest.ClientCert{DNS: []string{"other.example.com"}})))
	if res := send(t, other, http.MethodGet, g.URL+"/public/stock", nil); res.Status != 200 {
		t.Errorf("/public (mutual TLS off, allowedSans ignored): status = %d, want 200", res.Status)
	}
	if res := send(t, g.Presenting(t, nil), http.MethodGet, g.URL+"/public/stock", nil); res.Status != 200 {
		t.Errorf("/public without a certificate: status = %d, want 200", res.Status)
	}
	if res := send(t, other, http.MethodGet, g.URL+"/partners/stock", nil); res.Status != 401 {
		t.Errorf("/partners with a certificate it does not allow: status = %d, want 401", res.Status)
	}
	if !strings.Contains(g.Log.String(), "mutual TLS is off and allowedSans is ignored") {
		t.Errorf("no warning that /public's allowedSans is ignored in the log:\n%s", g.Log.String())
	}
}

func TestMutualTLSLargeCertificate(t *testing.T) {
	pki := gatewaytest.NewPKI(t, "Root")
	g := startMTLS(t, mtlsSpec(gatewaytest.NewBackend(t)), pki.ClientCA(), nil, gatewaytest.Options{})
	big := ptr(pki.Issue(t, gatewaytest.ClientCert{CN: "big", Padding: 7 << 10})) // over 8 KB in base64
	res := send(t, g.Presenting(t, big), http.MethodGet, g.URL+gatewaytest.Prefix+"/stock", nil)
	if res.Status != 200 {
		t.Fatalf("status = %d, want 200: a large certificate only leaves ${request.cert[client_base64]} unset", res.Status)
	}
	lines := g.Log.Exec(t, res.ID)
	if len(lines) != 1 || lines[0]["level"] != "WARN" || lines[0]["code"] != "request.clientCertConversionFailed" ||
		lines[0]["reason"] != "client_certificate_too_large" {
		t.Errorf("execution log = %v, want one WARN request.clientCertConversionFailed client_certificate_too_large", lines)
	}
}

func TestMutualTLSMetrics(t *testing.T) {
	pki := gatewaytest.NewPKI(t, "Root")
	d, err := gatewaytest.Deployment(gatewaytest.Prefix, mtlsSpec(gatewaytest.NewBackend(t)))
	if err != nil {
		t.Fatal(err)
	}
	metrics := gateway.NewMetrics()
	log := gatewaytest.NewLog()
	gw, err := gateway.New(&config.Gateway{Deployments: []config.Deployment{d}, ClientCA: pki.ClientCA()},
		gateway.Options{Logger: log.Logger(), Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	g := gatewaytest.Serve(t, gw, log, nil, gatewaytest.Options{TLS: true})
	send(t, g.Presenting(t, ptr(pki.Issue(t, gatewaytest.ClientCert{CN: "c"}))), http.MethodGet, g.URL+gatewaytest.Prefix+"/stock", nil)
	send(t, g.Presenting(t, nil), http.MethodGet, g.URL+gatewaytest.Prefix+"/stock", nil)
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`keygate_auth_decisions_total{deployment="/test",outcome="allow",reason="valid_certificate",stage="mutual_tls"} 1`,
		`keygate_auth_decisions_total{deployment="/test",outcome="deny",reason="client_certificate_missing",stage="mutual_tls"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestMutualTLSNeedsClientCA(t *testing.T) {
	_, _, err := gatewaytest.Build(mtlsSpec(gatewaytest.NewBackend(t)), gatewaytest.Options{})
	if err == nil || !strings.Contains(err.Error(), "requestPolicies.mutualTls.isVerifiedCertificateRequired: mutual TLS is on but keygate has no client CA") ||
		!strings.Contains(err.Error(), "--tls-client-ca") {
		t.Errorf("error = %v, want the missing client CA named at its path, with --tls-client-ca", err)
	}
}

func TestMutualTLSDecide(t *testing.T) {
	pki := gatewaytest.NewPKI(t, "Root")
	d, err := gatewaytest.Deployment(gatewaytest.Prefix, mtlsSpec(gatewaytest.NewBackend(t)))
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := gatewaytest.BuildConfig(&config.Gateway{Deployments: []config.Deployment{d}, ClientCA: pki.ClientCA()}, gatewaytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Offline there is no connection: the decision goes on, with a warning.
	dec := g.Decide(httptest.NewRequest(http.MethodGet, gatewaytest.Prefix+"/stock", nil))
	if !dec.Accepted || len(dec.Warnings) != 1 || !strings.Contains(dec.Warnings[0], "mutual TLS is not checked offline") {
		t.Errorf("decision = %+v, want accepted with a warning that mutual TLS was not checked", dec)
	}
	// A request with a connection state is checked as served.
	r := httptest.NewRequest(http.MethodGet, gatewaytest.Prefix+"/stock", nil)
	r.TLS = &tls.ConnectionState{}
	if dec := g.Decide(r); dec.Accepted || dec.Status != 401 || dec.Reason != "client_certificate_missing" {
		t.Errorf("decision = %+v, want 401 client_certificate_missing", dec)
	}
}

// TestMutualTLSBeforeRateLimiting: a client refused for its certificate
// spends none of the deployment's rate.
func TestMutualTLSBeforeRateLimiting(t *testing.T) {
	pki := gatewaytest.NewPKI(t, "Root")
	spec := mtlsSpec(gatewaytest.NewBackend(t))
	spec["requestPolicies"].(map[string]any)["rateLimiting"] = map[string]any{"rateInRequestsPerSecond": 1, "rateKey": "TOTAL"}
	g := startMTLS(t, spec, pki.ClientCA(), nil, gatewaytest.Options{})
	anon := g.Presenting(t, nil)
	for i := range 5 {
		if res := send(t, anon, http.MethodGet, g.URL+gatewaytest.Prefix+"/stock", nil); res.Status != 401 {
			t.Fatalf("request %d without a certificate: status = %d, want 401", i, res.Status)
		}
	}
	cert := g.Presenting(t, ptr(pki.Issue(t, gatewaytest.ClientCert{CN: "c"})))
	if res := send(t, cert, http.MethodGet, g.URL+gatewaytest.Prefix+"/stock", nil); res.Status != 200 {
		t.Errorf("with a certificate, after five refused: status = %d, want 200 (the refused spent the rate)", res.Status)
	}
	if res := send(t, cert, http.MethodGet, g.URL+gatewaytest.Prefix+"/stock", nil); res.Status != 429 {
		t.Errorf("a second at once: status = %d, want 429 (1 per second)", res.Status)
	}
}

// TestClientCertificateInTransformations: ${request.cert[client_base64]}
// carries the verified certificate (standard base64 of its DER) to a
// header transformation, as OCI's context variable does.
func TestClientCertificateInTransformations(t *testing.T) {
	pki := gatewaytest.NewPKI(t, "Partner Root CA")
	b := gatewaytest.NewBackend(t)
	spec := mtlsSpec(b)
	route := spec["routes"].([]any)[0].(map[string]any)
	route["requestPolicies"] = map[string]any{"headerTransformations": map[string]any{"setHeaders": map[string]any{"items": []any{
		map[string]any{"name": "X-Client-Cert", "values": []any{"${request.cert[client_base64]}"}}}}}}
	g := startMTLS(t, spec, pki.ClientCA(), b, gatewaytest.Options{})
	cert := pki.Issue(t, gatewaytest.ClientCert{CN: "api", DNS: []string{"api.partner.example.com"}})
	res := send(t, g.Presenting(t, &cert), http.MethodGet, g.URL+gatewaytest.Prefix+"/r", nil)
	if res.Status != 200 {
		t.Fatalf("status %d", res.Status)
	}
	got := b.ByID(res.ID)
	if len(got) != 1 {
		t.Fatalf("backend got %d requests", len(got))
	}
	want := base64.StdEncoding.EncodeToString(cert.Certificate[0])
	if v := got[0].Header.Get("X-Client-Cert"); v != want {
		t.Errorf("X-Client-Cert = %.40q..., want the certificate's DER in base64", v)
	}
}

// TestClientCertificateAsAuthorizerArgument: a multi-argument authorizer
// reading request.cert gets the verified client certificate, standard
// base64 of its DER.
func TestClientCertificateAsAuthorizerArgument(t *testing.T) {
	certs := make(chan string, 1)
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Data map[string]string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		certs <- in.Data["cert"]
		_, _ = io.WriteString(w, `{"active": true}`)
	}))
	t.Cleanup(fn.Close)
	functions, err := function.New([]config.Function{{ID: "authz", URL: fn.URL}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = functions.Close() })
	pki := gatewaytest.NewPKI(t, "Partner Root CA")
	b := gatewaytest.NewBackend(t)
	spec := mtlsSpec(b)
	spec["requestPolicies"].(map[string]any)["authentication"] = map[string]any{"type": "CUSTOM_AUTHENTICATION",
		"functionId": "authz", "parameters": map[string]any{"cert": "request.cert"}}
	g := startMTLS(t, spec, pki.ClientCA(), b, gatewaytest.Options{Functions: functions})
	cert := pki.Issue(t, gatewaytest.ClientCert{CN: "api", DNS: []string{"api.partner.example.com"}})
	if res := send(t, g.Presenting(t, &cert), http.MethodGet, g.URL+gatewaytest.Prefix+"/r", nil); res.Status != 200 {
		t.Fatalf("status %d", res.Status)
	}
	if got, want := <-certs, base64.StdEncoding.EncodeToString(cert.Certificate[0]); got != want {
		t.Errorf("the authorizer got cert %.40q..., want the certificate's DER in base64", got)
	}
}
