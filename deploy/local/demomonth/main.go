// Command demomonth writes the demo's month (package demo) into a folder:
// the catalogue, the fixes finance imports, and the CDR files. make demo
// runs it; the same seed writes the same files. With -empty-bucket it
// only empties S3_BUCKET at S3_ENDPOINT, so that the demo starts over.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/billrun/billrun/internal/demo"
	"github.com/billrun/billrun/internal/s3store"
)

func main() {
	out := flag.String("out", ".local/demo", "folder to write into (emptied first)")
	seed := flag.Uint64("seed", 2026, "random seed")
	calls := flag.Int("calls", 1_000_000, "calls in the month's regular files")
	month := flag.String("month", "2026-10", "the month, YYYY-MM")
	empty := flag.Bool("empty-bucket", false, "only empty the bucket S3_BUCKET (if it exists)")
	flag.Parse()
	if *empty {
		n, err := emptyBucket(context.Background(), os.Getenv("S3_ENDPOINT"), os.Getenv("S3_BUCKET"))
		if err != nil {
			log.Fatalf("demomonth: emptying bucket %s: %v", os.Getenv("S3_BUCKET"), err)
		}
		fmt.Printf("bucket %s: %d objects deleted\n", os.Getenv("S3_BUCKET"), n)
		return
	}
	m, err := time.Parse("2006-01", *month)
	if err != nil {
		log.Fatalf("demomonth: -month %q is not YYYY-MM", *month)
	}
	if err := os.RemoveAll(*out); err != nil {
		log.Fatal(err)
	}
	s, err := demo.Month{Seed: *seed, Calls: *calls, Year: m.Year(), Month: m.Month()}.Write(*out)
	if err != nil {
		log.Fatalf("demomonth: %v", err)
	}
	// For the demo script to source: the rates its story turns on.
	env := fmt.Sprintf("DELETED_TABLE=%s\nDELETED_CODE=%s\nDELETED_NAME=%q\nMISSING_TABLE=%s\nMISSING_NAME=%q\n",
		s.DeletedRate.Table, s.DeletedRate.Code, s.DeletedRate.Name, s.Missing.Table, s.Missing.Name)
	for i, c := range s.Corrections {
		env += fmt.Sprintf("CORRECTION%d_TABLE=%s\nCORRECTION%d_NAME=%q\n", i+1, c.Table, i+1, c.Name)
	}
	if err := os.WriteFile(filepath.Join(*out, "story.env"), []byte(env), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d destinations, %d clients, %d calls in %d files (seed %d) in %s\n",
		s.Destinations, s.Clients, s.Calls, len(s.Files), *seed, *out)
}

func emptyBucket(ctx context.Context, endpoint, bucket string) (int, error) {
	s, err := s3store.New(ctx, endpoint, bucket)
	if err != nil {
		return 0, err
	}
	if err := s.EnsureBucket(ctx); err != nil {
		return 0, err
	}
	var keys []string
	err = s.Walk(ctx, "", "", func(objs []s3store.Object) (bool, error) {
		for _, o := range objs {
			keys = append(keys, o.Key)
		}
		return true, nil
	})
	for _, k := range keys {
		if err == nil {
			err = s.Delete(ctx, k)
		}
	}
	return len(keys), err
}
