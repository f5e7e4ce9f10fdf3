package serve

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/gateway"
)

// TestReloadHistory: every load lands in the history the console reads,
// with its cause, result, the live version and a refused one's problems.
func TestReloadHistory(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "spec.json")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(spec, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(stockSpec)
	src := Source{SpecFile: spec, PathPrefix: "/p"}
	opts := gateway.Options{Logger: slog.New(slog.DiscardHandler)}
	cfg, g, err := src.Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	history := gateway.NewConfigHistory()
	r := newReloader(src, opts, cfg, gateway.NewLive(g), nil, history)
	first := r.version

	steps := []struct {
		spec, cause  string
		wantResult   string
		wantNewVer   bool
		wantProblems string
	}{
		{stockSpec, "SIGHUP", "unchanged", false, ""},
		{strings.Replace(stockSpec, `"/r"`, `"r"`, 1), "file change", "refused", false, "routes[0].path"},
		{strings.Replace(stockSpec, `"/r"`, `"/s"`, 1), "SIGHUP", "loaded", true, ""},
	}
	for _, s := range steps {
		write(s.spec)
		before := r.version
		r.reload(s.cause)
		e := history.Events()[0]
		if e.Cause != s.cause || e.Result != s.wantResult || e.Version != r.version || (r.version != before) != s.wantNewVer {
			t.Errorf("%s: got %+v (version %s before %s), want result %s", s.cause, e, r.version, before, s.wantResult)
		}
		if got := strings.Join(e.Problems, "\n"); !strings.Contains(got, s.wantProblems) || (s.wantProblems == "") != (got == "") {
			t.Errorf("%s: got problems %q, want %q", s.cause, got, s.wantProblems)
		}
	}
	events := history.Events()
	if len(events) != 4 || events[3].Cause != "start-up" || events[3].Version != first {
		t.Errorf("got %d events, the oldest %+v; want 4, the oldest the start-up at %s", len(events), events[len(events)-1], first)
	}
}
