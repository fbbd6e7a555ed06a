package cluster

import (
	"strings"
	"testing"
)

func TestShare(t *testing.T) {
	for _, tt := range []struct {
		classes []int
		n       int
	}{
		{[]int{10}, 3}, {[]int{1, 1, 1}, 3}, {[]int{1, 1}, 3}, {[]int{7, 5, 3, 1}, 4},
		{[]int{0, 0}, 2}, {[]int{100, 1}, 7}, {[]int{5}, 1}, {[]int{2, 2, 2, 2, 2}, 3},
	} {
		total := make([]int, len(tt.classes))
		minW, maxW := 1<<30, -1
		for i := range tt.n {
			s := Share(tt.classes, tt.n, i)
			sum := 0
			for c, u := range s {
				total[c] += u
				sum += u
				even := tt.classes[c] / tt.n
				if u < even || u > even+1 {
					t.Errorf("Share(%v, %d, %d)[%d] = %d, want within one of %d", tt.classes, tt.n, i, c, u, even)
				}
			}
			minW, maxW = min(minW, sum), max(maxW, sum)
		}
		for c := range total {
			if total[c] != tt.classes[c] {
				t.Errorf("Share(%v, %d): class %d sums to %d", tt.classes, tt.n, c, total[c])
			}
		}
		if maxW-minW > 1 {
			t.Errorf("Share(%v, %d): worker totals from %d to %d, want within one", tt.classes, tt.n, minW, maxW)
		}
	}
}

func TestCheckJoin(t *testing.T) {
	ok := &Join{WorkerID: "w", Version: "1.0", Protocol: Protocol}
	if r := CheckJoin(ok, "1.0", Protocol); r != "" {
		t.Errorf("refused a good join: %s", r)
	}
	for _, j := range []*Join{
		{WorkerID: "w", Version: "1.1", Protocol: Protocol},
		{WorkerID: "w", Version: "1.0", Protocol: Protocol + 1},
	} {
		if r := CheckJoin(j, "1.0", Protocol); r == "" {
			t.Errorf("admitted %+v", j)
		}
	}
}

func TestCheckToken(t *testing.T) {
	for _, tt := range []struct {
		got, want string
		refusal   string // a substring of the refusal; "" to admit
	}{
		{"", "", ""},
		{"anything", "", ""},
		{"s3cret", "s3cret", ""},
		{"", "s3cret", "has no worker token"},
		{"s3cre", "s3cret", "wrong worker token"},
		{"s3cret!", "s3cret", "wrong worker token"},
		{"S3CRET", "s3cret", "wrong worker token"},
	} {
		r := CheckToken(&Join{WorkerID: "w", Token: tt.got}, tt.want)
		if (r == "") != (tt.refusal == "") || !strings.Contains(r, tt.refusal) {
			t.Errorf("CheckToken(%q, want %q) = %q, want a refusal containing %q", tt.got, tt.want, r, tt.refusal)
		}
		if strings.Contains(r, tt.want) && tt.want != "" {
			t.Errorf("the refusal names the master's token: %q", r)
		}
	}
}
