package cli

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestAsyncWriterKeepsEveryLineWhole(t *testing.T) {
	var out bytes.Buffer
	w := newAsyncWriter(&out)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				fmt.Fprintf(w, "goroutine %d line %d\n", g, i)
			}
		}(g)
	}
	wg.Wait()
	w.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("got %d lines, want %d", len(lines), 8*500)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		var g, i int
		if _, err := fmt.Sscanf(l, "goroutine %d line %d", &g, &i); err != nil {
			t.Fatalf("torn line %q", l)
		}
		seen[l] = true
	}
	if len(seen) != 8*500 {
		t.Fatalf("%d distinct lines, want %d", len(seen), 8*500)
	}
}

// TestAsyncWriterAfterClose: a line logged after Close (a goroutine still
// finishing) is written directly, never a panic or a lost line.
func TestAsyncWriterAfterClose(t *testing.T) {
	var out bytes.Buffer
	w := newAsyncWriter(&out)
	_, _ = w.Write([]byte("before\n"))
	w.Close()
	if _, err := w.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	w.Close() // twice is fine
	if got := out.String(); got != "before\nafter\n" {
		t.Errorf("wrote %q, want both lines in order", got)
	}
}
