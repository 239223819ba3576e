package graph

import (
	"fmt"
	"testing"
)

// fanChain returns n assets forming a chain of fan-outs: hub 0 feeds fan leaves, all of
// which (and the hub) feed hub 1, and so on. It has about twice as many edges as nodes and
// a depth of 2n/(fan+1), which is the shape of a long pipeline with wide stages.
func fanChain(n, fan int) []Node {
	nodes := make([]Node, 0, n)
	var prev []string
	for layer := 0; len(nodes) < n; layer++ {
		hub := fmt.Sprintf("layer%05d/hub", layer)
		nodes = append(nodes, Node{
			Key: hub, Module: fmt.Sprintf("module%d", layer%10), Group: fmt.Sprintf("group%d", layer%20), Deps: prev,
		})
		prev = []string{hub}
		for i := 0; i < fan && len(nodes) < n; i++ {
			leaf := fmt.Sprintf("layer%05d/leaf%02d", layer, i)
			nodes = append(nodes, Node{Key: leaf, Module: fmt.Sprintf("module%d", layer%10), Deps: []string{hub}})
			prev = append(prev, leaf)
		}
	}
	return nodes
}

var benchSizes = []int{1_000, 100_000}

// BenchmarkPlan is the planning cost of materializing everything: build the graph from the
// modules' declarations, then select "*".
func BenchmarkPlan(b *testing.B) {
	for _, n := range benchSizes {
		nodes := fanChain(n, 10)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g, err := New(nodes)
				if err != nil {
					b.Fatal(err)
				}
				if keys, err := g.Select("*"); err != nil || len(keys) != n {
					b.Fatalf("Select(*) = %d keys, %v", len(keys), err)
				}
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for _, n := range benchSizes {
		nodes := fanChain(n, 10)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(nodes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSelect(b *testing.B) {
	for _, n := range benchSizes {
		g, err := New(fanChain(n, 10))
		if err != nil {
			b.Fatal(err)
		}
		mid := fmt.Sprintf("layer%05d/hub", n/11/2)
		for _, expr := range []string{"*", "++" + mid + "++", "*" + mid, "group:group7"} {
			b.Run(fmt.Sprintf("nodes=%d/%s", n, expr), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := g.Select(expr); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkNewWithErrors is the cost of reporting unknown dependencies in a large
// workspace, dominated by finding suggestions among all keys.
func BenchmarkNewWithErrors(b *testing.B) {
	nodes := fanChain(100_000, 10)
	for i := 0; i < 10; i++ {
		nodes[i*1000+1].Deps = []string{fmt.Sprintf("layer%05d/hb", i)}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(nodes); err == nil {
			b.Fatal("no error")
		}
	}
}
