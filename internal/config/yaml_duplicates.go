package config

import (
	"fmt"

	yamlv2 "go.yaml.in/yaml/v2"
)

// yamlDuplicateKeys returns the JSON path of every mapping key of a YAML
// document that comes again later in its mapping, in document order, or nil
// if the document cannot be read. yaml.v2 decoding into a MapSlice keeps
// every key, duplicates included, at every depth; it is the parser
// sigs.k8s.io/yaml converts with, so both read the same document.
func yamlDuplicateKeys(data []byte) []string {
	var doc yamlv2.MapSlice
	if yamlv2.Unmarshal(data, &doc) != nil {
		return nil
	}
	var paths []string
	walkYAML("", doc, &paths)
	return paths
}

func walkYAML(path string, v any, paths *[]string) {
	switch v := v.(type) {
	case yamlv2.MapSlice:
		last := make(map[string]int, len(v))
		for i, item := range v {
			last[yamlKey(item.Key)] = i
		}
		for i, item := range v {
			p := keyPath(path, yamlKey(item.Key))
			if last[yamlKey(item.Key)] != i {
				*paths = append(*paths, p)
				continue
			}
			walkYAML(p, item.Value, paths)
		}
	case []any:
		for i, e := range v {
			walkYAML(idx(path, i), e, paths)
		}
	}
}

// yamlKey renders a mapping key as the JSON conversion names it: YAML keys
// need not be strings ("3: x"), JSON keys are.
func yamlKey(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	return fmt.Sprint(k)
}
