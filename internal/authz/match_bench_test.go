package authz

import (
	"fmt"
	"strings"
	"testing"
)

func TestMatchAllocations(t *testing.T) {
	table, err := Compile(benchRoutes())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       float64
	}{
		{"literal", "/svc49/health", 0},
		{"param", "/svc49/items/42", 1},
		{"wildcard", "/svc49/files/a/b/c", 1},
		{"not found", "/nowhere/at/all", 0},
		{"method not allowed", "/ops/x", 2}, // the error and its Allow list
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := testing.AllocsPerRun(100, func() {
				table.Match("GET", tt.path)
			})
			if got != tt.want {
				t.Errorf("Match(GET, %q) allocations = %v; want %v", tt.path, got, tt.want)
			}
		})
	}
}

// benchRoutes returns 50 routes: per service a literal, a param and a
// wildcard route, and a few others.
func benchRoutes() []RouteSpec {
	var routes []RouteSpec
	for i := range 16 {
		svc := fmt.Sprintf("/svc%d", i*3+1)
		if i == 15 {
			svc = "/svc49"
		}
		routes = append(routes,
			RouteSpec{Path: svc + "/files/{path*}", Methods: []string{"GET", "PUT"}},
			RouteSpec{Path: svc + "/items/{id}", Methods: []string{"GET", "DELETE"}},
			RouteSpec{Path: svc + "/health", Methods: []string{"GET"}},
		)
	}
	routes = append(routes, RouteSpec{Path: "/{tenant}/v1/{res}/{id}"})
	return append(routes, RouteSpec{Path: "/ops/{any*}", Methods: []string{"OPTIONS"}})
}

func BenchmarkMatch(b *testing.B) {
	table, err := Compile(benchRoutes())
	if err != nil {
		b.Fatal(err)
	}
	if n := len(benchRoutes()); n != 50 {
		b.Fatalf("benchRoutes() has %d routes; want 50", n)
	}
	for _, bm := range []struct{ name, path string }{
		{"literal", "/svc49/health"},
		{"param", "/svc49/items/42"},
		{"wildcard", "/svc49/files/" + strings.Repeat("dir/", 8) + "file.txt"},
		{"not found", "/nowhere/at/all"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := table.Match("GET", bm.path); err != nil && bm.name != "not found" {
					b.Fatal(err)
				}
			}
		})
	}
}
