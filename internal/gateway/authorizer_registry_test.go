package gateway

import (
	"log/slog"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/function"
)

// functionsForTest is the registry a test gateway invokes functions with.
type functionsForTest = function.Invoker

// testRegistry is keygate's function registry with a url: entry per id,
// each call bounded by timeout; closed when the test ends.
func testRegistry(t testing.TB, urls map[string]string, timeout time.Duration) function.Invoker {
	t.Helper()
	var fns []config.Function
	for id, u := range urls {
		fns = append(fns, config.Function{ID: id, URL: u, TimeoutMillis: int(timeout / time.Millisecond)})
	}
	reg, err := function.New(fns, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("function registry: %v", err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return reg
}
