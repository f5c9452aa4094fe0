package demo_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bclogout/bclogout/cmd/bclogout/internal/demo"
)

// The demo checks itself at startup: RP alpha accepts a valid logout token
// and rejects one signed by a key the OP does not publish.
func ExampleDemo_SelfCheck() {
	d, err := demo.Start(context.Background(), demo.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	results, err := d.SelfCheck(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Println(r)
	}
	// Output:
	// valid logout token: 200 accepted (as expected)
	// forged logout token: 400 rejected, reason signature (as expected)
}
