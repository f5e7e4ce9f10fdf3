package token

import "testing"

func benchmarkVerify(b *testing.B, kid string) {
	v, _ := newTestVerifier(b, testPolicy())
	raw := signKid(b, kid, validClaims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS256(b *testing.B) { benchmarkVerify(b, "rs256") }
func BenchmarkVerifyES256(b *testing.B) { benchmarkVerify(b, "es256") }
func BenchmarkVerifyEdDSA(b *testing.B) { benchmarkVerify(b, "eddsa") }

// BenchmarkVerifyRejectStructural measures what an attacker's garbage
// costs: a rejected token must be far cheaper than a signature check.
func BenchmarkVerifyRejectStructural(b *testing.B) {
	v, _ := newTestVerifier(b, testPolicy())
	raw := signKid(b, "rs256", validClaims()) + "."
	b.ReportAllocs()
	for b.Loop() {
		_, _ = v.Verify(raw)
	}
}
