package partitions

import (
	"testing"
	"time"
)

// 1750-01-01 to 2023-10-17 is 100,000 days.
const bench100k = `{"type":"time","schedule":"daily","start":"1750-01-01","end":"2023-10-17"}`

func TestBench100kCount(t *testing.T) {
	keys, err := mustParse(t, bench100k).Keys(now)
	if err != nil || len(keys) != 100_000 {
		t.Fatal(len(keys), err)
	}
}

func BenchmarkKeysDaily100k(b *testing.B) {
	d := mustParse(b, bench100k)
	for b.Loop() {
		keys, err := d.Keys(now)
		if err != nil || len(keys) != 100_000 {
			b.Fatal(len(keys), err)
		}
	}
}

func BenchmarkKeysDaily100kNewYork(b *testing.B) {
	d := mustParse(b, `{"type":"time","schedule":"daily","start":"1750-01-01","end":"2023-10-17","timezone":"America/New_York"}`)
	for b.Loop() {
		if _, err := d.Keys(now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkContainsDaily(b *testing.B) {
	d := mustParse(b, bench100k)
	for b.Loop() {
		if err := d.Contains("1900-06-15", now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkContainsStatic(b *testing.B) {
	d := mustParse(b, `{"type":"static","keys":["us","eu","apac","latam"]}`)
	for b.Loop() {
		if err := d.Contains("apac", now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkContainsMulti(b *testing.B) {
	d := mustParse(b, multi3).WithDynamicKeys(products)
	for b.Loop() {
		if err := d.Contains("2026-01-02|eu|b", time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}
