package activities_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/billrun/billrun/internal/cdr"
	"github.com/billrun/billrun/internal/postgres/pgtest"
)

// TestAFileReplacedWhileItsDaysAreReratedIsStoredOnce: issue 12's first
// finding. A changed file re-ingested while a rerate rewrites its days once
// left calls stored twice: the file's delete waited for the rerate's and
// missed the rows the rerate wrote back. Files and rerates of the same days
// now take one lock a day. Each round starts the ingestion a little later
// into the rerate, to meet it at every step of its transaction.
func TestAFileReplacedWhileItsDaysAreReratedIsStoredOnce(t *testing.T) {
	f := newFixture(t)
	const calls = 8000
	content := func(duration int) []byte {
		var b strings.Builder
		b.WriteString("call_id,connect_time,duration,orig_ip,orig_account,src_number,dst_number,disposition\n")
		for i := range calls {
			fmt.Fprintf(&b, "r%d,2026-10-01 %02d:%02d:%02d,%d,192.0.2.10,,4930111111,+4915112345678,ANSWERED\n", i, i/3600%24, i/60%60, i%60, duration)
		}
		return []byte(b.String())
	}
	if _, err := f.ingest(f.upload(cdr.Canonical, "race.csv", content(60))); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for round := range 16 {
		// A new price: the rerate rewrites every call of the day.
		f.importCSV("rates:acme-special", fmt.Sprintf("code,rate,effective_from,end,increment,setup_fee\n4915,0.%04d,2026-01-01,,1/1,\n", 500+round))
		if round%2 == 1 { // as a file ingested before call keys were kept: its days come from its calls
			if _, err := pgtest.Pool(f.store).Exec(ctx, `DELETE FROM call_keys`); err != nil {
				t.Fatal(err)
			}
		}
		ref := f.upload(cdr.Canonical, "race.csv", content(61+round))
		var wg sync.WaitGroup
		var rerateErr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A rerate that finds rows gone (the file replaced them) says
			// so and is retried, as the workflow retries it.
			for try := 0; ; try++ {
				_, rerateErr = f.acts.Billing.RerateDay(ctx, cdr.Selection{From: day, To: day.AddDate(0, 0, 1), Match: "all"})
				if rerateErr == nil || try == 5 || !strings.Contains(rerateErr.Error(), "retrying") {
					return
				}
			}
		}()
		time.Sleep(time.Duration(round) * 5 * time.Millisecond)
		_, err := f.acts.Billing.Ingest(ctx, ref.Key, "", nil)
		wg.Wait()
		if err != nil || rerateErr != nil {
			t.Fatal(err, rerateErr)
		}
		if n := f.query(`SELECT count(*) FROM cdrs`); n != calls {
			t.Fatalf("round %d: %d calls stored, want %d", round, n, calls)
		}
	}
}
