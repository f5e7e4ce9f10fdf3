package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid matches, with errors.Is, every Problem and Problems value, so a
// caller can tell "the configuration is wrong" from other failures.
var ErrInvalid = errors.New("invalid configuration")

// Problem is one thing wrong in a configuration: where it is and how to fix it.
type Problem struct {
	// File is the file that holds the faulty text; "" when there is no file
	// (a command-line value, or DecodeSpec called with an empty name).
	File string
	// Path is the JSON path of the faulty value, e.g. "routes[2].backend.url";
	// "" when the problem concerns the whole file.
	Path string
	// Message says what is wrong and what to do, in lower case.
	Message string
}

// Error returns "file: path: message", leaving out empty parts.
func (p Problem) Error() string {
	parts := make([]string, 0, 3)
	for _, s := range []string{p.File, p.Path, p.Message} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

// Is reports whether target is ErrInvalid.
func (p Problem) Is(target error) bool { return target == ErrInvalid }

// Problems is every problem found in a configuration, in the order they were
// found (document order for structure, field order for validation).
type Problems []Problem

// Error returns one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Is reports whether target is ErrInvalid.
func (ps Problems) Is(target error) bool { return target == ErrInvalid }

// checker collects problems for one file under a JSON path prefix, so that
// validation code can report without threading error values around.
type checker struct {
	file  string
	probs Problems
	// unknownFields counts the unknown-field problems, which (unlike a value
	// of the wrong kind) leave the rest of a document worth validating.
	unknownFields int
}

func (c *checker) addf(path, format string, args ...any) {
	c.probs = append(c.probs, Problem{File: c.file, Path: path, Message: fmt.Sprintf(format, args...)})
}

// at joins a JSON path and a member name.
func at(base, name string) string {
	if base == "" {
		return name
	}
	return base + "." + name
}

// idx appends an array index to a JSON path.
func idx(base string, i int) string {
	return fmt.Sprintf("%s[%d]", base, i)
}
