package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeSpec checks that DecodeSpec never panics, fails only with
// Problems, and that what it accepts re-encodes to JSON that decodes to an
// equal Spec (defaults and normalisation are idempotent).
func FuzzDecodeSpec(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.json", "testdata/valid/*.yaml", "testdata/invalid/*.json", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := DecodeSpec("fuzz", data)
		if err != nil {
			var probs Problems
			if !errors.As(err, &probs) || len(probs) == 0 || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %T %v is not a non-empty Problems", err, err)
			}
			return
		}
		first, err := json.Marshal(spec)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := DecodeSpec("fuzz.json", first)
		if err != nil {
			t.Fatalf("re-encoded spec rejected:\n%v\n%s", err, first)
		}
		second, err := json.Marshal(again)
		if err != nil {
			t.Fatalf("re-encode again: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("spec changed on a round trip:\n%s\n%s", first, second)
		}
	})
}
