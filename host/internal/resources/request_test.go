package resources

import "testing"

// TestRequestParsing covers the request checks every kind shares.
func TestRequestParsing(t *testing.T) {
	env, err := NewEnv(EnvConfig{Vars: []string{"A"}}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHTTP(HTTPConfig{Allow: []string{"api.example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		res  Resource
		req  string
		msg  string
	}{
		{"empty", env, ``, `the request is empty; want a JSON object such as {"op":"get"}`},
		{"blank", env, " \n\t", "the request is empty"},
		{"array", env, `[1]`, "the request must be a JSON object such as {\"op\":\"get\"}, not a JSON array"},
		{"string", env, `"get"`, "not a JSON string"},
		{"number", env, `1`, "not a JSON number"},
		{"null", env, `null`, "not null"},
		{"truncated", env, `{"op":"get"`, "not valid JSON: unexpected EOF"},
		{"syntax", env, `{"op":get}`, "not valid JSON: invalid character 'g'"},
		{"trailing object", env, `{"op":"list"}{"op":"list"}`, "data after its JSON object"},
		{"trailing junk", env, `{"op":"list"} x`, "data after its JSON object"},
		{"invalid utf-8", env, "{\"op\":\"list\",\"\xff\":1}", "not valid UTF-8"},
		{"op not string", env, `{"op":1}`, `field "op" must be a string (one of: get, list)`},
		{"op null", env, `{"op":null}`, `unknown op "" (want one of: get, list)`},
		{"op case", env, `{"op":"GET","name":"A"}`, `unknown op "GET"`},
		{"field case", env, `{"op":"get","Name":"A"}`, `unknown field "Name" (op "get" takes: name)`},
		{"list takes nothing", env, `{"op":"list","x":1}`, `unknown field "x" (op "list" takes: no other fields)`},
		{"http no op", h, `{"url":"https://api.example.com","op":"get"}`, `unknown field "op" (a request has: method, url, headers, body_base64)`},
		{"http empty", h, ``, `want a JSON object such as {"method":"GET","url":"https://..."}`},
		{"http url type", h, `{"url":1}`, `field "url" must be a string, not a JSON number`},
		{"http method type", h, `{"url":"https://api.example.com","method":true}`, `field "method" must be a string, not a JSON bool`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, tc.res, tc.req)
			check(t, err, fails(ErrInvalidRequest, tc.msg))
		})
	}
}
