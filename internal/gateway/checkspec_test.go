package gateway

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// TestCheckSpecOnInvalidSpecs compiles every invalid spec of config's
// golden cases, decoded as leniently as encoding/json allows, with
// CheckSpec: whatever validation refused, compiling must report what it
// finds and never panic (it has no recover to lean on).
func TestCheckSpecOnInvalidSpecs(t *testing.T) {
	files, err := filepath.Glob("../config/testdata/invalid/*.json")
	if err != nil || len(files) < 20 {
		t.Fatalf("found %d invalid specs (%v)", len(files), err)
	}
	for _, file := range files {
		if strings.HasPrefix(filepath.Base(file), "gateway") {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var spec config.Spec
			if json.Unmarshal(data, &spec) != nil {
				t.Skip("not even loosely JSON of a spec")
			}
			_ = CheckSpec(&spec, config.Source{File: file})
		})
	}
}
