package wasmorch

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// manifestAssets decodes the assets of r's manifest, keeping partitions and ins raw so a test
// compares their exact JSON.
func manifestAssets(t *testing.T, r *registry) []struct {
	Key        string
	Partitions json.RawMessage
	Ins        []struct {
		Name             string
		PartitionMapping json.RawMessage `json:"partition_mapping"`
	}
} {
	t.Helper()
	data, err := r.manifest()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Assets []struct {
			Key        string
			Partitions json.RawMessage
			Ins        []struct {
				Name             string
				PartitionMapping json.RawMessage `json:"partition_mapping"`
			}
		}
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m.Assets
}

func TestPartitionsManifestJSON(t *testing.T) {
	cases := []struct {
		name string
		p    Partitions
		want string
	}{
		{"static", StaticPartitions("us", "eu", "apac"), `{"type":"static","keys":["us","eu","apac"]}`},
		{"daily", Daily("2026-01-01"), `{"type":"time","schedule":"daily","start":"2026-01-01"}`},
		{"daily with every option",
			Daily("2026-01-01", End("2026-02-01"), Timezone("Europe/Paris"), KeyFormat("20060102")),
			`{"type":"time","schedule":"daily","start":"2026-01-01","end":"2026-02-01","timezone":"Europe/Paris","format":"20060102"}`},
		{"hourly with end_offset", Hourly("2026-01-01-00:00", EndOffset(1)),
			`{"type":"time","schedule":"hourly","start":"2026-01-01-00:00","end_offset":1}`},
		{"weekly", Weekly("2026-01-05", Timezone("America/New_York")),
			`{"type":"time","schedule":"weekly","start":"2026-01-05","timezone":"America/New_York"}`},
		{"monthly, negative end_offset", Monthly("2026-01", EndOffset(-2)),
			`{"type":"time","schedule":"monthly","start":"2026-01","end_offset":-2}`},
		{"cron", CronPartitions("0 */6 * * *", "2026-01-01T00:00", KeyFormat("2006-01-02T15:04")),
			`{"type":"time","cron":"0 */6 * * *","start":"2026-01-01T00:00","format":"2006-01-02T15:04"}`},
		{"dynamic", DynamicPartitions("customers"), `{"type":"dynamic","name":"customers"}`},
		{"multi of three",
			MultiPartitions(
				Dimension("date", Daily("2026-01-01")),
				Dimension("region", StaticPartitions("us", "eu")),
				Dimension("customer", DynamicPartitions("customers"))),
			`{"type":"multi","dimensions":[` +
				`{"name":"date","partitions":{"type":"time","schedule":"daily","start":"2026-01-01"}},` +
				`{"name":"region","partitions":{"type":"static","keys":["us","eu"]}},` +
				`{"name":"customer","partitions":{"type":"dynamic","name":"customers"}}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := mustRegister(t, "a", func(*Context) ([]byte, error) { return nil, nil }, Partitioned(c.p))
			if got := string(manifestAssets(t, r)[0].Partitions); got != c.want {
				t.Errorf("partitions:\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestPartitionMappingManifestJSON(t *testing.T) {
	cases := []struct {
		name string
		m    PartitionMapping
		want string
	}{
		{"identity", IdentityMapping(), `{"type":"identity"}`},
		{"time_window", TimeWindowMapping(-1, 0), `{"type":"time_window","start_offset":-1,"end_offset":0}`},
		{"time_window of zeros", TimeWindowMapping(0, 0), `{"type":"time_window","start_offset":0,"end_offset":0}`},
		{"all", AllMapping(), `{"type":"all"}`},
		{"static one to one", StaticMapping(map[string]string{"us": "americas", "eu": "europe"}),
			`{"type":"static","map":{"eu":"europe","us":"americas"}}`},
		{"static one to many", StaticMapping(map[string][]string{"emea": {"eu", "africa"}, "amer": {"us"}}),
			`{"type":"static","map":{"amer":["us"],"emea":["eu","africa"]}}`},
		{"multi", MultiMapping(map[string]PartitionMapping{
			"region": StaticMapping(map[string]string{"eu": "europe"}),
			"date":   TimeWindowMapping(-1, 0),
			"kind":   AllMapping(),
		}), `{"type":"multi","dimensions":{"date":{"type":"time_window","start_offset":-1,"end_offset":0},` +
			`"kind":{"type":"all"},"region":{"type":"static","map":{"eu":"europe"}}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := mustRegister(t, "a", func(*Context, []byte, []byte) ([]byte, error) { return nil, nil },
				In("plain", "b"), InMapped("mapped", "c", c.m))
			ins := manifestAssets(t, r)[0].Ins
			if len(ins) != 2 || ins[0].Name != "plain" || ins[1].Name != "mapped" {
				t.Fatalf("ins = %+v", ins)
			}
			if ins[0].PartitionMapping != nil {
				t.Errorf("In gave a partition_mapping %s", ins[0].PartitionMapping)
			}
			if got := string(ins[1].PartitionMapping); got != c.want {
				t.Errorf("partition_mapping:\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestPartitionedManifest checks a whole asset entry: partitions sits after config_schema, as
// in ABI.md 7.1, and a mapped input carries partition_mapping after its format.
func TestPartitionedManifest(t *testing.T) {
	r := newRegistry()
	r.addAsset("regions", func(*Context) ([]byte, error) { return nil, nil }, []AssetOption{
		Partitioned(StaticPartitions("us", "eu")),
	})
	r.addAsset("daily", func(*Context, map[string]any) ([]byte, error) { return nil, nil }, []AssetOption{
		ConfigSchema(`{"type": "object"}`),
		Partitioned(Daily("2026-01-01", End("2026-02-01"))),
		InMapped("regions", "regions", AllMapping()),
		Resources("warehouse"),
	})
	got, err := r.manifest()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"abi_version":1,"sdk":{"name":"wasmorch-go","version":"0.1.0"},"assets":[` +
		`{"key":"regions","output":{"format":"bytes"},"partitions":{"type":"static","keys":["us","eu"]}},` +
		`{"key":"daily","ins":[{"name":"regions","asset":"regions","format":"json","partition_mapping":{"type":"all"}}],` +
		`"output":{"format":"bytes"},"config_schema":{"type":"object"},` +
		`"partitions":{"type":"time","schedule":"daily","start":"2026-01-01","end":"2026-02-01"},"resources":["warehouse"]}]}`
	if string(got) != want {
		t.Errorf("manifest:\n got %s\nwant %s", got, want)
	}
}

func TestPartitionsProblems(t *testing.T) {
	fn := func(*Context, []byte) ([]byte, error) { return nil, nil }
	// def gives the options of an asset with the definition p and fn's one input.
	def := func(p Partitions) []AssetOption { return []AssetOption{Partitioned(p), In("b", "b")} }
	cases := []struct {
		name string
		opts []AssetOption
		want []string
	}{
		{"empty Partitions", def(Partitions{}),
			[]string{`asset "a": Partitioned: the Partitions value is empty; make one with Daily, StaticPartitions, MultiPartitions or another constructor`}},
		{"no static keys", def(StaticPartitions()),
			[]string{`asset "a": Partitioned: StaticPartitions: give at least one key`}},
		{"bad static keys", def(StaticPartitions("us", "eu/west", "a|b", "", " x", "..", "us", "tab\t")),
			[]string{
				`asset "a": Partitioned: StaticPartitions: the partition key "eu/west" contains '/' (keys become storage path components)`,
				`asset "a": Partitioned: StaticPartitions: the partition key "a|b" contains '|' (it joins multi-dimensional keys)`,
				`asset "a": Partitioned: StaticPartitions: a partition key is empty`,
				`asset "a": Partitioned: StaticPartitions: the partition key " x" begins or ends with a space`,
				`asset "a": Partitioned: StaticPartitions: the partition key ".." is not allowed (it would name a directory)`,
				`asset "a": Partitioned: StaticPartitions: the key "us" is given twice`,
				`asset "a": Partitioned: StaticPartitions: the partition key "tab\t" contains the control character U+0009`,
			}},
		{"long static key", def(StaticPartitions(strings.Repeat("k", 256))),
			[]string{`asset "a": Partitioned: StaticPartitions: the partition key "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"... is 256 bytes long (at most 255)`}},
		{"time without start, empty options", def(Daily("", End(""), Timezone(""), KeyFormat(""))),
			[]string{
				`asset "a": Partitioned: Daily: time partitions need a start, such as "2026-01-01"`,
				`asset "a": Partitioned: End: the end is empty; leave End out for partitions without an end`,
				`asset "a": Partitioned: Timezone: the time zone is empty; leave Timezone out for UTC`,
				`asset "a": Partitioned: KeyFormat: the layout is empty; leave KeyFormat out for the schedule's default`,
			}},
		{"Local time zone", def(Hourly("2026-01-01", Timezone("Local"))),
			[]string{`asset "a": Partitioned: Timezone: "Local" depends on the machine; give an IANA time zone such as "Europe/Paris"`}},
		{"end and end_offset", def(Monthly("2026-01", End("2027-01"), EndOffset(1))),
			[]string{`asset "a": Partitioned: Monthly: EndOffset(1) has no effect with End; give one or the other`}},
		{"empty cron", def(CronPartitions("", "2026-01-01T00:00")),
			[]string{`asset "a": Partitioned: CronPartitions: the cron expression is empty`}},
		{"bad dynamic name", def(DynamicPartitions("my customers")),
			[]string{`asset "a": Partitioned: DynamicPartitions: "my customers" is not a valid name ([A-Za-z_][A-Za-z0-9_]*)`}},
		{"multi of one", def(MultiPartitions(Dimension("date", Daily("2026-01-01")))),
			[]string{`asset "a": Partitioned: MultiPartitions: give at least 2 dimensions, got 1`}},
		{"bad multi dimensions", def(MultiPartitions(
			Dimension("date", Daily("2026-01-01")),
			Dimension("date", StaticPartitions("x")),
			Dimension("1st", StaticPartitions("a|b")),
			Dimension("inner", MultiPartitions(Dimension("a", StaticPartitions("x")), Dimension("b", StaticPartitions("y")))),
			Dimension("none", Partitions{}))),
			[]string{
				`asset "a": Partitioned: MultiPartitions: the dimension "date" is given twice`,
				`asset "a": Partitioned: MultiPartitions: dimension 2: "1st" is not a valid dimension name ([A-Za-z_][A-Za-z0-9_]*)`,
				`asset "a": Partitioned: MultiPartitions: dimension "1st": StaticPartitions: the partition key "a|b" contains '|' (it joins multi-dimensional keys)`,
				`asset "a": Partitioned: MultiPartitions: dimension "inner" is itself multi-dimensional; list its dimensions in the outer MultiPartitions instead`,
				`asset "a": Partitioned: MultiPartitions: dimension "none" has no partitions definition`,
			}},
		{"empty mapping", []AssetOption{InMapped("b", "b", PartitionMapping{})},
			[]string{`asset "a": InMapped("b"): the PartitionMapping value is empty; make one with IdentityMapping, AllMapping or another constructor`}},
		{"bad static mappings", []AssetOption{InMapped("b", "b", StaticMapping(map[string][]string{"eu": {}, "us/x": {"a|b"}}))},
			[]string{
				`asset "a": InMapped("b"): StaticMapping: downstream key "eu" maps to no upstream key`,
				`asset "a": InMapped("b"): StaticMapping: downstream key: the partition key "us/x" contains '/' (keys become storage path components)`,
				`asset "a": InMapped("b"): StaticMapping: upstream key for "us/x": the partition key "a|b" contains '|' (it joins multi-dimensional keys)`,
			}},
		{"empty static mapping", []AssetOption{InMapped("b", "b", StaticMapping(map[string]string{}))},
			[]string{`asset "a": InMapped("b"): StaticMapping: the map is empty; give an upstream key for each downstream key`}},
		{"bad multi mappings", []AssetOption{InMapped("b", "b", MultiMapping(map[string]PartitionMapping{
			"date":  MultiMapping(map[string]PartitionMapping{"x": AllMapping()}),
			"no-no": AllMapping(),
			"r":     StaticMapping(map[string]string{"": "x"}),
			"z":     {},
		}))},
			[]string{
				`asset "a": InMapped("b"): MultiMapping: dimension "date" has a multi mapping; a dimension's mapping is identity, time_window, all or static`,
				`asset "a": InMapped("b"): MultiMapping: "no-no" is not a valid dimension name ([A-Za-z_][A-Za-z0-9_]*)`,
				`asset "a": InMapped("b"): MultiMapping: dimension "r": StaticMapping: downstream key: a partition key is empty`,
				`asset "a": InMapped("b"): MultiMapping: dimension "z" has an empty PartitionMapping`,
			}},
		{"empty multi mapping", []AssetOption{InMapped("b", "b", MultiMapping(nil))},
			[]string{`asset "a": InMapped("b"): MultiMapping: give a mapping for at least one dimension, or leave the mapping out for every dimension's default`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRegistry()
			r.addAsset("a", fn, c.opts)
			var got []string
			for _, e := range r.problems() {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestPartitionValuesAreImmutable: a definition or mapping keeps what it was made from, so
// changing the caller's slice or map afterwards changes nothing.
func TestPartitionValuesAreImmutable(t *testing.T) {
	keys := []string{"us", "eu"}
	p := StaticPartitions(keys...)
	m := map[string][]string{"emea": {"eu"}}
	sm := StaticMapping(m)
	keys[0] = "changed"
	m["emea"][0] = "changed"
	m["new"] = []string{"x"}
	r := mustRegister(t, "a", func(*Context, []byte) ([]byte, error) { return nil, nil }, Partitioned(p), InMapped("b", "b", sm))
	got := manifestAssets(t, r)[0]
	if want := `{"type":"static","keys":["us","eu"]}`; string(got.Partitions) != want {
		t.Errorf("partitions = %s, want %s", got.Partitions, want)
	}
	if want := `{"type":"static","map":{"emea":["eu"]}}`; string(got.Ins[0].PartitionMapping) != want {
		t.Errorf("partition_mapping = %s, want %s", got.Ins[0].PartitionMapping, want)
	}
}

// TestPartitionKeyRulesMatchHost checks the SDK's copy of the partition key rules against the
// host's constants, read as source: the SDK is its own module and cannot import the host.
func TestPartitionKeyRulesMatchHost(t *testing.T) {
	const src = "../host/internal/partitions/partitions.go"
	if _, err := os.Stat(src); err != nil {
		t.Skipf("%s not found (the SDK is outside the wasmorch repository): %v", src, err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && len(vs.Values) == 1 {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
				consts[vs.Names[0].Name] = lit.Value
			}
		}
		return true
	})
	if got, want := consts["Separator"], strconv.Quote(partitionKeySeparator); got != want {
		t.Errorf("partitions.Separator = %s, the SDK uses %s", got, want)
	}
	if got, want := consts["MaxKeyLen"], strconv.Itoa(maxPartitionKeyLen); got != want {
		t.Errorf("partitions.MaxKeyLen = %s, the SDK uses %s", got, want)
	}
}
