package manifest

import (
	"strings"
	"testing"
)

func TestParseGraphsJobsRetriesMappings(t *testing.T) {
	m, err := Parse([]byte(`{
	  "abi_version": 1,
	  "assets": [{"key": "daily", "ins": [{"name": "hourly", "partition_mapping": {"type": "time_window", "start_offset": -1}}],
	              "retry_policy": {"max_retries": 3, "delay_seconds": 0.5, "backoff": "exponential", "jitter": "full"}},
	             {"key": "hourly"}],
	  "ops": [{"name": "fetch", "outs": [{"name": "result"}]}, {"name": "split", "ins": [{"name": "x"}], "outs": [{"name": "big", "dynamic": true}], "retry_policy": {"max_retries": 1}}],
	  "graphs": [{"name": "g", "ins": [{"name": "day"}], "nodes": [
	      {"name": "f", "op": "fetch", "ins": {"day": {"graph_input": "day"}}},
	      {"name": "s", "op": "split", "ins": {"x": {"node": "f", "output": "result"}}},
	      {"name": "r", "op": "other_module:report", "ins": {"big": {"node": "s", "output": "big"}}}],
	    "outs": [{"name": "report", "node": "r", "output": "result"}]}],
	  "jobs": [{"name": "daily_job", "selection": "daily+"}, {"name": "graph_job", "graph": "g", "config": {"ops": {}}}]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Assets[0].RetryPolicy.MaxRetries != 3 || len(m.Graphs[0].Nodes) != 3 || m.Jobs[1].Graph != "g" {
		t.Fatalf("parsed %+v", m)
	}
}

func TestGraphJobRetryMappingErrors(t *testing.T) {
	for name, c := range map[string]struct{ json, want string }{
		"retry range":         {`{"abi_version":1,"assets":[{"key":"a","retry_policy":{"max_retries":-1}}]}`, "retry_policy.max_retries: expected a non-negative integer"},
		"retry backoff":       {`{"abi_version":1,"assets":[{"key":"a","retry_policy":{"backoff":"cubic"}}]}`, `retry_policy.backoff: unknown backoff "cubic"`},
		"mapping type":        {`{"abi_version":1,"assets":[{"key":"a","ins":[{"name":"b","partition_mapping":{"type":"weekly"}}]},{"key":"b"}]}`, `partition_mapping.type: unknown partition mapping "weekly"`},
		"static mapping":      {`{"abi_version":1,"assets":[{"key":"a","ins":[{"name":"b","partition_mapping":{"type":"static"}}]},{"key":"b"}]}`, "a static mapping needs a non-empty map"},
		"unknown op":          {`{"abi_version":1,"graphs":[{"name":"g","nodes":[{"name":"n","op":"nope"}]}]}`, `op: no op or graph "nope" in this module`},
		"unknown node":        {`{"abi_version":1,"ops":[{"name":"o"}],"graphs":[{"name":"g","nodes":[{"name":"n","op":"o","ins":{"x":{"node":"ghost","output":"result"}}}]}]}`, `node: the graph has no node "ghost"`},
		"unknown g input":     {`{"abi_version":1,"ops":[{"name":"o"}],"graphs":[{"name":"g","nodes":[{"name":"n","op":"o","ins":{"x":{"graph_input":"day"}}}]}]}`, `graph_input: the graph has no input "day"`},
		"self containing":     {`{"abi_version":1,"graphs":[{"name":"g","nodes":[{"name":"n","op":"g"}]}]}`, `graph "g" cannot contain itself`},
		"job needs one":       {`{"abi_version":1,"jobs":[{"name":"j"}]}`, "a job needs exactly one of selection and graph"},
		"job both":            {`{"abi_version":1,"ops":[{"name":"o"}],"graphs":[{"name":"g","nodes":[{"name":"n","op":"o"}]}],"jobs":[{"name":"j","selection":"*","graph":"g"}]}`, "exactly one of selection and graph"},
		"job unknown graph":   {`{"abi_version":1,"jobs":[{"name":"j","graph":"nope"}]}`, `no graph "nope" in this module`},
		"graph unknown field": {`{"abi_version":1,"graphs":[{"name":"g","nodez":[]}]}`, "graphs[0].nodez: unknown field"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(c.json))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}
