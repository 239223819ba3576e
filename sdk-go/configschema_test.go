package wasmorch

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

type nestedConfig struct {
	Depth int `json:"depth" default:"2"`
}

type exampleConfig struct {
	CSV     string            `json:"csv" doc:"CSV text" default:""`
	Limit   *int              `json:"limit"`
	Mode    string            `json:"mode" enum:"strict,lenient" default:"strict"`
	Name    string            `json:"name"`
	Ratio   float64           `json:"ratio,omitempty"`
	Tags    []string          `json:"tags,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Nested  nestedConfig      `json:"nested,omitempty"`
	Skipped string            `json:"-"`
	hidden  int
}

func TestConfigFromStruct(t *testing.T) {
	a := &assetDef{key: "x"}
	ConfigFrom(exampleConfig{})(a)
	if len(a.problems) > 0 {
		t.Fatal(a.problems)
	}
	var got map[string]any
	json.Unmarshal(a.configSchema, &got)
	props := got["properties"].(map[string]any)
	if !reflect.DeepEqual(got["required"], []any{"name"}) {
		t.Errorf("required = %v, want [name]", got["required"])
	}
	if got["additionalProperties"] != false {
		t.Error("unknown fields are not refused")
	}
	for field, want := range map[string]string{
		"csv":    `{"default":"","description":"CSV text","type":"string"}`,
		"limit":  `{"type":"integer"}`,
		"mode":   `{"default":"strict","enum":["strict","lenient"],"type":"string"}`,
		"ratio":  `{"type":"number"}`,
		"tags":   `{"items":{"type":"string"},"type":"array"}`,
		"labels": `{"additionalProperties":{"type":"string"},"type":"object"}`,
		"nested": `{"additionalProperties":false,"properties":{"depth":{"default":2,"type":"integer"}},"type":"object"}`,
	} {
		b, _ := json.Marshal(props[field])
		if string(b) != want {
			t.Errorf("%s: %s, want %s", field, b, want)
		}
	}
	if _, ok := props["Skipped"]; ok || props["hidden"] != nil {
		t.Error("json:\"-\" or unexported fields are in the schema")
	}
}

func TestConfigFromProblems(t *testing.T) {
	type badDefault struct {
		N int `json:"n" default:"ten"`
	}
	type badType struct {
		C chan int `json:"c"`
	}
	type self struct {
		Next *self `json:"next"`
	}
	for name, c := range map[string]struct {
		v    any
		want string
	}{
		"not a struct": {3, "ConfigFrom needs a struct value, got int"},
		"bad default":  {badDefault{}, `field N: default "ten"`},
		"bad type":     {badType{}, "field C: type chan int cannot be config"},
		"recursive":    {self{}, "refers to itself"},
	} {
		a := &assetDef{key: "x"}
		ConfigFrom(c.v)(a)
		if len(a.problems) != 1 || !strings.Contains(a.problems[0], c.want) {
			t.Errorf("%s: problems %v, want %q", name, a.problems, c.want)
		}
	}
}
