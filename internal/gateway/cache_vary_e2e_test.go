package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCacheVaryUnderscoreSpelling: a backend that folds '_' into '-' (CGI,
// WSGI) reads Accept_Language as Accept-Language; a response that varies
// on it must not be stored as the answer for requests without the header.
func TestCacheVaryUnderscoreSpelling(t *testing.T) {
	folding := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := "en"
		for name, values := range r.Header {
			if strings.EqualFold(strings.ReplaceAll(name, "_", "-"), "Accept-Language") {
				lang = values[0]
			}
		}
		w.Header().Set("Vary", "Accept-Language")
		_, _ = io.WriteString(w, "lang="+lang)
	}))
	t.Cleanup(folding.Close)
	rig := newCacheRig(t, func(string) map[string]any {
		return cachedRoute("/folding/{p*}", folding.URL+"/${request.path[p]}", anonymous, lookupPolicy(false))
	})
	for i, spelling := range []string{"Accept_Language", "accept_language", "ACCEPT_LANGUAGE"} {
		path := "/c/folding/p" + string(rune('0'+i))
		attack := rig.send(t, "GET", path, http.Header{spelling: {"evil"}})
		victim := rig.send(t, "GET", path, nil)
		if strings.Contains(victim.body, "evil") {
			t.Errorf("%s: victim got %q %q after the attacker's %q, want its own language", spelling, victim.state, victim.body, attack.body)
		}
	}
	// Same spelling, same value: the entry is shared as it should be.
	rig.send(t, "GET", "/c/folding/same", http.Header{"Accept_Language": {"de"}})
	if got := rig.send(t, "GET", "/c/folding/same", http.Header{"Accept_Language": {"de"}}); got.state != "HIT" {
		t.Errorf("a repeated request is %q, want HIT", got.state)
	}
}
