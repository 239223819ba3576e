package workspace

import (
	"fmt"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/wasmorch/wasmorch/host/internal/partitions"
)

// parsePartitions reads the partitions: and assets: sections:
//
//	partitions:
//	  daily_2026: {type: time, schedule: daily, start: 2026-01-01}
//	assets:
//	  orders:
//	    partitions: daily_2026          # a name from partitions:, or a definition inline
//	    ins:
//	      raw: {partition_mapping: {type: time_window, start_offset: -1}}
//
// Definitions and mappings are checked with the partitions package; errors give the line.
func parsePartitions(f *File, raw *rawFile) error {
	f.Partitions = map[string]JSONAt{}
	f.Assets = map[string]AssetSettings{}
	if raw.Partitions.Kind != 0 {
		if raw.Partitions.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: partitions must map names to partitions definitions", raw.Partitions.Line)
		}
		for i := 0; i+1 < len(raw.Partitions.Content); i += 2 {
			k, v := raw.Partitions.Content[i], raw.Partitions.Content[i+1]
			if !jobNameRE.MatchString(k.Value) {
				return fmt.Errorf("line %d: partitions name %q is invalid (letters, digits and '_', not starting with a digit)", k.Line, k.Value)
			}
			js, err := definitionJSON(v, fmt.Sprintf("partitions.%s", k.Value))
			if err != nil {
				return err
			}
			f.Partitions[k.Value] = JSONAt{JSON: js, Line: v.Line}
		}
	}
	if raw.Assets.Kind == 0 {
		return nil
	}
	if raw.Assets.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: assets must map asset keys to settings (partitions, ins)", raw.Assets.Line)
	}
	for i := 0; i+1 < len(raw.Assets.Content); i += 2 {
		k, v := raw.Assets.Content[i], raw.Assets.Content[i+1]
		key := k.Value
		if v.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: assets.%s must be a mapping with partitions and/or ins", v.Line, key)
		}
		set := AssetSettings{Line: k.Line, Mappings: map[string]JSONAt{}}
		for j := 0; j+1 < len(v.Content); j += 2 {
			fk, fv := v.Content[j], v.Content[j+1]
			switch fk.Value {
			case "partitions":
				if fv.Kind == yaml.ScalarNode && fv.Tag == "!!str" {
					named, ok := f.Partitions[fv.Value]
					if !ok {
						return fmt.Errorf("line %d: assets.%s.partitions names %q, which the partitions: section does not define (defined: %s)", fv.Line, key, fv.Value, namesOf(f.Partitions))
					}
					set.Partitions = &JSONAt{JSON: named.JSON, Line: fv.Line}
					continue
				}
				js, err := definitionJSON(fv, fmt.Sprintf("assets.%s.partitions", key))
				if err != nil {
					return err
				}
				set.Partitions = &JSONAt{JSON: js, Line: fv.Line}
			case "ins":
				if fv.Kind != yaml.MappingNode {
					return fmt.Errorf("line %d: assets.%s.ins must map input names to {partition_mapping: ...}", fv.Line, key)
				}
				for n := 0; n+1 < len(fv.Content); n += 2 {
					in, iv := fv.Content[n], fv.Content[n+1]
					if iv.Kind != yaml.MappingNode || len(iv.Content) != 2 || iv.Content[0].Value != "partition_mapping" {
						return fmt.Errorf("line %d: assets.%s.ins.%s must be {partition_mapping: ...}, its only setting", iv.Line, key, in.Value)
					}
					mv := iv.Content[1]
					path := fmt.Sprintf("assets.%s.ins.%s.partition_mapping", key, in.Value)
					js, err := nodeJSON(mv, path)
					if err != nil {
						return err
					}
					if _, err := partitions.ParseMappingAt(path, js); err != nil {
						return fmt.Errorf("line %d: %v", mv.Line, err)
					}
					set.Mappings[in.Value] = JSONAt{JSON: js, Line: mv.Line}
				}
			default:
				return fmt.Errorf("line %d: assets.%s: unknown field %q (known: partitions, ins)", fk.Line, key, fk.Value)
			}
		}
		f.Assets[key] = set
	}
	return nil
}

// definitionJSON converts and checks one partitions definition.
func definitionJSON(n *yaml.Node, path string) ([]byte, error) {
	js, err := nodeJSON(n, path)
	if err != nil {
		return nil, err
	}
	if _, err := partitions.ParseAt(path, js); err != nil {
		return nil, fmt.Errorf("line %d: %v", n.Line, err)
	}
	return js, nil
}

// nodeJSON converts a YAML value to JSON, keeping unquoted dates and times as the text written
// (YAML would read 2026-01-01 as a UTC instant, and a definition's start is wall time in its
// own time zone).
func nodeJSON(n *yaml.Node, path string) ([]byte, error) {
	c := *n
	keepTimeText(&c)
	js, err := YAMLToJSON(&c)
	if err != nil {
		return nil, fmt.Errorf("line %d: %s: %v", n.Line, path, err)
	}
	return js, nil
}

func keepTimeText(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!timestamp" {
		n.Tag = "!!str"
	}
	n.Content = slices.Clone(n.Content) // n is a copy; its children are shared with the original
	for i, c := range n.Content {
		cc := *c
		keepTimeText(&cc)
		n.Content[i] = &cc
	}
}

func namesOf[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}
