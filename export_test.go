package bclogout_test

import "github.com/bclogout/bclogout/rp"

type rpOption = rp.Option
