package gateway

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestREADMEListsDroppedHeaders keeps the README's list of the client
// headers no backend receives in step with ClientHeadersDropped.
func TestREADMEListsDroppedHeaders(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "<!-- dropped-headers -->")
	list, _, ok2 := strings.Cut(rest, "<!-- /dropped-headers -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no <!-- dropped-headers --> ... <!-- /dropped-headers --> list")
	}
	var got []string
	for _, item := range strings.Split(list, ",") {
		got = append(got, strings.Trim(strings.TrimSpace(item), "`"))
	}
	if !slices.Equal(got, ClientHeadersDropped) {
		t.Errorf("README lists %q\nClientHeadersDropped is %q", got, ClientHeadersDropped)
	}
}
