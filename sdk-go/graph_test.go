package wasmorch

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestGraphAndJobInTheManifest(t *testing.T) {
	r := newRegistry()
	r.addOp("split", split, []OpOption{OpInputs("in"), OpOutputs("evens", "odds")})
	r.addGraph("numbers", []GraphPart{
		GraphInputs("ns"),
		Node("split", "split", FromGraphInput("in", "ns")),
		Node("report", "other:report", Collect("parts", "split", "evens"), NodeConfig(`{"limit": 3}`)),
		GraphOutput("evens", "split", "evens"),
		GraphDescription("splits numbers"),
	})
	r.addJob("numbers_job", []JobOption{JobGraph("numbers"), JobConfig(`{"inputs": {"ns": {"value": [1, 2]}}}`), JobTags(map[string]string{"team": "data"})})
	r.addJob("assets_job", []JobOption{JobSelection("group:orders")})
	data, err := r.manifest()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Graphs []json.RawMessage `json:"graphs"`
		Jobs   []json.RawMessage `json:"jobs"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	wantGraph := `{"name":"numbers","description":"splits numbers","ins":[{"name":"ns"}],"nodes":[` +
		`{"name":"split","op":"split","ins":{"in":{"graph_input":"ns"}}},` +
		`{"name":"report","op":"other:report","ins":{"parts":{"node":"split","output":"evens","collect":true}},"config":{"limit":3}}],` +
		`"outs":[{"name":"evens","node":"split","output":"evens"}]}`
	if len(m.Graphs) != 1 || string(m.Graphs[0]) != wantGraph {
		t.Errorf("graphs = %s\nwant %s", m.Graphs, wantGraph)
	}
	if len(m.Jobs) != 2 || !strings.Contains(string(m.Jobs[0]), `"graph":"numbers"`) || !strings.Contains(string(m.Jobs[1]), `"selection":"group:orders"`) {
		t.Errorf("jobs = %s", m.Jobs)
	}
}

func TestGraphAndJobProblems(t *testing.T) {
	r := newRegistry()
	r.addGraph("1bad", nil)
	r.addGraph("g", []GraphPart{Node("a", "op", Wire("in", "nowhere", "result")), Node("a", "op")})
	r.addGraph("g", []GraphPart{Node("b", "op")})
	r.addJob("j", nil)
	r.addJob("k", []JobOption{JobGraph("g"), JobSelection("*")})
	_, err := r.manifest()
	if err == nil {
		t.Fatal("manifest accepted bad graphs and jobs")
	}
	for _, want := range []string{
		`graph "1bad": invalid graph name`,
		`graph "1bad": a graph needs at least one node`,
		`graph "g": node name "a" is invalid or used twice`,
		`graph "g": node "a" input "in" reads node "nowhere"`,
		`graph "g": the graph name is registered twice`,
		`job "j": a job needs exactly one of JobGraph and JobSelection`,
		`job "k": a job needs exactly one of JobGraph and JobSelection`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
