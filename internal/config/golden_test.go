package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.golden from the current output")

// TestInvalidGolden loads every testdata/invalid/NAME.json or NAME.yaml and
// compares the problems, one per line, with NAME.golden. Files named
// gateway*.yaml are gateway files; the rest are specs.
func TestInvalidGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/invalid/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range inputs {
		ext := filepath.Ext(in)
		if ext != ".json" && ext != ".yaml" {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(in), ext)
		t.Run(name, func(t *testing.T) {
			got := problemsOf(t, in)
			golden := strings.TrimSuffix(in, ext) + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("problems differ\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
	if n < 25 {
		t.Errorf("only %d invalid cases; want at least 25", n)
	}
}

// problemsOf loads in and returns its problems, one per line.
func problemsOf(t *testing.T, in string) string {
	t.Helper()
	var err error
	if strings.HasPrefix(filepath.Base(in), "gateway") {
		_, err = LoadGateway(in)
	} else {
		var data []byte
		if data, err = os.ReadFile(in); err != nil {
			t.Fatal(err)
		}
		_, err = DecodeSpec(in, data)
	}
	if err == nil {
		t.Fatalf("%s loaded without problems", in)
	}
	var probs Problems
	if !errors.As(err, &probs) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("error is %T, want Problems matching ErrInvalid", err)
	}
	return err.Error() + "\n"
}
