package config

import (
	"strings"
	"testing"
)

func TestHostProblem(t *testing.T) {
	tests := []struct {
		host      string
		bracketed bool
		want      string // a part of the problem; "" for a valid host
	}{
		{"backend.example.com", false, ""},
		{"backend.example.com.", false, ""},
		{"localhost", false, ""},
		{"LOCALHOST", false, ""},
		{"a", false, ""},
		{"a-b.c-d", false, ""},
		{"xn--bcher-kva.example", false, ""},
		{"3com.example", false, ""},
		{"10.0.0.7", false, ""},
		{"0.0.0.0", false, ""},
		{"255.255.255.255", false, ""},
		{"::1", true, ""},
		{"2001:db8::7", true, ""},
		{"fe80::1%eth0", true, ""},
		{"::ffff:10.0.0.1", true, ""},
		{strings.Repeat("a", 63) + ".example", false, ""},
		{strings.Repeat("abc.", 63) + "a", false, ""}, // 253 bytes

		{"<OKE-LB-SVC-PUB-IP>", false, `'<' is not allowed, only letters, digits`},
		{"exa mple.com", false, `' ' is not allowed`},
		{"a_b..c", false, `an empty label`},
		{"my_service", false, ""}, // a Docker Compose service name
		{"a..c", false, `an empty label ("..")`},
		{".example", false, `an empty label`},
		{"", false, "empty"},
		{".", false, "empty"},
		{"-a.example", false, `label "-a" starts or ends with '-'`},
		{"a-.example", false, `label "a-" starts or ends with '-'`},
		{strings.Repeat("a", 64) + ".example", false, "a label of 64 bytes"},
		{strings.Repeat("abc.", 63) + "ab", false, "254 bytes long"},
		{"bücher.example", false, "not ASCII"},
		{"10.0.0.256", false, "is not an IPv4 address"},
		{"010.0.0.1", false, "is not an IPv4 address"},
		{"10.0.1", false, "is not an IPv4 address"},
		{"example.123", false, "is not an IPv4 address"},
		{"1.2.3.4", true, "brackets hold an IPv6 address only"},
		{"not-an-ip", true, "brackets hold an IPv6 address only"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got := hostProblem(tt.host, tt.bracketed)
			switch {
			case tt.want == "" && got != "":
				t.Errorf("hostProblem(%q, %v) = %q; want a valid host", tt.host, tt.bracketed, got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("hostProblem(%q, %v) = %q; want it to contain %q", tt.host, tt.bracketed, got, tt.want)
			}
		})
	}
}

func TestSplitAuthority(t *testing.T) {
	tests := []struct {
		authority, host string
		bracketed       bool
		port            string
	}{
		{"example.com", "example.com", false, ""},
		{"example.com:8080", "example.com", false, "8080"},
		{"<OKE-LB-SVC-PUB-IP>:8080", "<OKE-LB-SVC-PUB-IP>", false, "8080"},
		{"example.com:<PORT>", "example.com", false, "<PORT>"},
		{"user:pw@example.com:80", "example.com", false, "80"},
		{"[::1]:8080", "::1", true, "8080"},
		{"[fe80::1%25eth0]", "fe80::1%eth0", true, ""},
		{"[::1", "::1", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.authority, func(t *testing.T) {
			host, bracketed, port := splitAuthority(tt.authority)
			if host != tt.host || bracketed != tt.bracketed || port != tt.port {
				t.Errorf("splitAuthority(%q) = %q, %v, %q; want %q, %v, %q", tt.authority, host, bracketed, port, tt.host, tt.bracketed, tt.port)
			}
		})
	}
}
