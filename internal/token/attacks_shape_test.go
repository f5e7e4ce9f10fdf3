package token

// Rows T7, T11 and T12 of attacks.md: tokens whose bytes, shape or JSON
// try to confuse the parser. All must fail before any key is looked up.

import (
	"encoding/base64"
	"strings"
	"testing"
)

// runStructural runs attack cases that must fail before the key lookup.
func runStructural(t *testing.T, tests []attackCase) {
	t.Helper()
	v, r := newTestVerifier(t, testPolicy())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.lookups.Load()
			_, err := v.Verify(tt.raw)
			wantRejected(t, err, tt.want)
			if n := r.lookups.Load() - before; n != 0 {
				t.Errorf("resolver called %d times, want 0: refused before any key or crypto", n)
			}
		})
	}
}

func TestT7Shapes(t *testing.T) {
	good := signKid(t, "rs256", validClaims())
	segs := strings.Split(good, ".")
	h, p, s := segs[0], segs[1], segs[2]
	sigBytes := must(base64.RawURLEncoding.DecodeString(s))
	std := base64.RawStdEncoding.EncodeToString(sigBytes)
	if !strings.ContainsAny(std, "+/") {
		t.Fatal("test setup: signature has no standard-alphabet characters")
	}
	paddedHeader := b64(`{"alg":"RS256","kid":"rs256","typ":"JWT"}`)
	if len(paddedHeader)%4 == 0 {
		t.Fatal("test setup: header needs padding")
	}
	paddedHeader += strings.Repeat("=", 4-len(paddedHeader)%4)
	runStructural(t, []attackCase{
		{"one segment", h, ErrMalformed},
		{"two segments", h + "." + p, ErrMalformed},
		{"four segments", good + "." + s, ErrMalformed},
		{"empty header", "." + p + "." + s, ErrMalformed},
		{"empty payload", h + ".." + s, ErrMalformed},
		{"empty signature", h + "." + p + ".", ErrMalformed},
		{"only dots", "..", ErrMalformed},
		{"empty", "", ErrMalformed},
		{"JWE shape", h + "." + p + "." + s + "." + s + "." + s, ErrMalformed},
		{"JSON serialisation", `{"payload":"` + p + `","protected":"` + h + `","signature":"` + s + `"}`, ErrMalformed},
		{"general JSON serialisation", `{"payload":"` + p + `","signatures":[{"protected":"` + h + `","signature":"` + s + `"}]}`, ErrMalformed},
		{"padded header", paddedHeader + "." + p + "." + s, ErrMalformed},
		{"standard alphabet signature", h + "." + p + "." + std, ErrMalformed},
		{"leading space", " " + good, ErrMalformed},
		{"trailing newline", good + "\n", ErrMalformed},
		{"CRLF inside signature", h + "." + p + "." + s[:10] + "\r\n" + s[10:], ErrMalformed},
		{"tab between segments", h + ".\t" + p + "." + s, ErrMalformed},
		{"non-zero trailing bits", h + "." + p + "." + s[:len(s)-1] + flipTrailingBits(s[len(s)-1]), ErrMalformed},
		{"impossible length", h + "." + p + "." + s + "AAA", ErrMalformed},
		{"Bearer prefix left on", "Bearer " + good, ErrMalformed},
	})
}

// flipTrailingBits returns a base64url character that decodes to the same
// bytes as c at the end of a 256-byte signature (342 characters, 4 spare
// bits) but sets a spare bit, which only a strict decoder refuses.
func flipTrailingBits(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	v := strings.IndexByte(alphabet, c)
	return string(alphabet[(v&0x30)|1])
}

func TestT11DuplicatesAndCase(t *testing.T) {
	f := loadFixture()
	payload := validPayload()
	body := payload[1 : len(payload)-1] // members without braces
	sign := func(header, payload string) string { return signRaw(t, "ES256", f.p256, header, payload) }
	hdr := `{"alg":"ES256","kid":"es256"}`
	many := manyMembers(40)
	runStructural(t, []attackCase{
		{"duplicate alg, none last", sign(`{"alg":"ES256","alg":"none","kid":"es256"}`, payload), ErrMalformed},
		{"duplicate alg, none first", sign(`{"alg":"none","alg":"ES256","kid":"es256"}`, payload), ErrMalformed},
		{"duplicate kid", sign(`{"alg":"ES256","kid":"x","kid":"es256"}`, payload), ErrMalformed},
		{"duplicate alg by escape", sign(`{"alg":"ES256","\u0061lg":"none","kid":"es256"}`, payload), ErrMalformed},
		{"duplicate scope", sign(hdr, `{"scope":"read",`+body+`,"scope":"admin"}`), ErrMalformed},
		{"duplicate exp", sign(hdr, `{`+body+`,"exp":99999999999}`), ErrMalformed},
		{"duplicate in nested object", sign(hdr, `{`+body+`,"x":{"a":1,"b":[{"c":1,"c":2}]}}`), ErrMalformed},
		{"duplicate after many members", sign(hdr, `{`+body+`,`+many+`,"m7":0}`), ErrMalformed},
		{"invalid UTF-8 in payload", sign(hdr, `{`+body+`,"x":"`+"\xff"+`"}`), ErrMalformed},
		{"header is an array", sign(`["ES256"]`, payload), ErrMalformed},
		{"payload is a string", sign(hdr, `"claims"`), ErrMalformed},
		{"trailing data after payload", sign(hdr, payload+`{}`), ErrMalformed},
		{"header ALG instead of alg", sign(`{"ALG":"ES256","kid":"es256"}`, payload), ErrMalformed},
	})

	v, _ := newTestVerifier(t, testPolicy())
	runAttacks(t, v, []attackCase{
		{"EXP instead of exp", sign(hdr, strings.Replace(payload, `"exp"`, `"EXP"`, 1)), ErrMissingExp},
		{"Aud instead of aud", sign(hdr, strings.Replace(payload, `"aud"`, `"Aud"`, 1)), ErrAudience},
		{"Kid instead of kid", sign(`{"alg":"ES256","Kid":"es256"}`, payload), ErrMissingKID},
	})
	for name, raw := range map[string]string{
		"EXP next to exp":                sign(hdr, `{`+body+`,"EXP":1,"Exp":"x"}`),
		"same name in sibling objects":   sign(hdr, `{`+body+`,"x":{"a":1},"y":{"a":1}}`),
		"same name as parent member":     sign(hdr, `{`+body+`,"a":{"a":{"a":1}}}`),
		"many members without duplicate": sign(hdr, `{`+body+`,`+many+`}`),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Verify(raw); err != nil {
				t.Errorf("got error %v, want nil", err)
			}
		})
	}
}

// manyMembers returns n members "m0":0,"m1":0,... without braces, enough to
// push duplicate detection past its linear scan.
func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"m` + itoa(i) + `":0`)
	}
	return b.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestT12Oversized(t *testing.T) {
	f := loadFixture()
	hdr := `{"alg":"ES256","kid":"es256"}`
	deepPayload := `{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	deepHeader := `{"alg":"ES256","kid":"es256","x":` + strings.Repeat(`{"a":`, 2000) + "1" + strings.Repeat("}", 2000) + `}`
	huge := b64(hdr) + "." + strings.Repeat("A", 1<<20) + ".AAAA"
	tests := []attackCase{
		{"1 MB token", huge, ErrTooLarge},
		{"1 MB of letters", strings.Repeat("a", 1<<20), ErrTooLarge},
		{"64 KiB of dots", strings.Repeat(".", 64<<10), ErrTooLarge},
		{"one byte over 16 KiB", strings.Repeat("a", maxTokenBytes+1), ErrTooLarge},
		{"16 KiB of dots", strings.Repeat(".", maxTokenBytes), ErrMalformed},
		{"deep array in payload", signRaw(t, "ES256", f.p256, hdr, deepPayload), ErrMalformed},
		{"deep object in header", signRaw(t, "ES256", f.p256, deepHeader, validPayload()), ErrMalformed},
	}
	for _, tt := range tests[5:] {
		if len(tt.raw) > maxTokenBytes {
			t.Fatalf("test setup: %s is %d bytes, want it within the limit", tt.name, len(tt.raw))
		}
	}
	runStructural(t, tests)

	v, _ := newTestVerifier(t, testPolicy())
	for _, tt := range tests {
		t.Run(tt.name+" allocations", func(t *testing.T) {
			// Bounded memory: a refused token costs a few small allocations
			// plus one buffer no larger than the 16 KiB limit allows.
			allocs := testing.AllocsPerRun(20, func() { _, _ = v.Verify(tt.raw) })
			if allocs > 40 {
				t.Errorf("Verify made %.0f allocations, want at most 40", allocs)
			}
		})
	}
}
