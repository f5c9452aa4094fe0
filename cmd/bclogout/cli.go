package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Exit statuses, the same for every subcommand and documented in each
// manual page.
const (
	exitOK       = 0 // success: token accepted, valid, or server stopped by a signal
	exitNegative = 1 // the answer is no: token rejected or invalid, RP answered non-200
	exitUsage    = 2 // bad command line
	exitFailure  = 3 // could not do the job: discovery, network, key file, listen
)

const exitStatusText = `0  success (token accepted or valid; a server stopped by SIGINT/SIGTERM)
1  the answer is no (token rejected or invalid; the RP did not answer 200)
2  usage error (unknown subcommand or flag, missing required flag)
3  could not do the job (discovery, network, key file, listen address)`

// streams are the process's standard streams, passed in so tests can run
// subcommands in-process.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is one subcommand and its manual page.
type command struct {
	name        string
	synopsis    string // usage line after "bclogout NAME"
	summary     string // one line for the command list
	description string
	examples    string
	// flags declares the subcommand's flags on fs and returns the function
	// that runs it once they are parsed.
	flags func(fs *flag.FlagSet) func(ctx context.Context, args []string, s streams) int
}

func commands() []command {
	return []command{receiveCommand(), guardCommand(), sendCommand(), verifyCommand(), opCommand(), demoCommand()}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := streams{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printOverview(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			for _, c := range commands() {
				if c.name == args[1] {
					fs, _ := c.newFlagSet(io.Discard)
					printManual(stdout, c, fs)
					return exitOK
				}
			}
			fmt.Fprintf(stderr, "bclogout: no help for unknown subcommand %q\n", args[1])
			return exitUsage
		}
		printOverview(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		return c.run(ctx, args[1:], s)
	}
	fmt.Fprintf(stderr, "bclogout: unknown subcommand %q (run \"bclogout help\")\n", name)
	return exitUsage
}

func (c command) newFlagSet(out io.Writer) (*flag.FlagSet, func(context.Context, []string, streams) int) {
	fs := flag.NewFlagSet("bclogout "+c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	runFn := c.flags(fs)
	return fs, runFn
}

func (c command) run(ctx context.Context, args []string, s streams) int {
	fs, runFn := c.newFlagSet(io.Discard)
	// flag prints the manual through Usage on -h/--help; errors go to stderr
	// with a pointer to the manual rather than the whole page.
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printManual(s.stdout, c, fs)
			return exitOK
		}
		fmt.Fprintf(s.stderr, "bclogout %s: %v\nrun \"bclogout %s --help\" for the manual\n", c.name, err, c.name)
		return exitUsage
	}
	return runFn(ctx, fs.Args(), s)
}

// usageError reports a bad command line found after flag parsing.
func usageError(s streams, name, format string, a ...any) int {
	fmt.Fprintf(s.stderr, "bclogout %s: %s\nrun \"bclogout %s --help\" for the manual\n", name, fmt.Sprintf(format, a...), name)
	return exitUsage
}

// failure reports an error that stopped the subcommand doing its job.
func failure(s streams, name string, err error) int {
	fmt.Fprintf(s.stderr, "bclogout %s: %v\n", name, err)
	return exitFailure
}

func printOverview(w io.Writer) {
	fmt.Fprint(w, `NAME
    bclogout - try OpenID Connect Back-Channel Logout 1.0 from a terminal

SYNOPSIS
    bclogout SUBCOMMAND [FLAGS] [ARGS]
    bclogout help SUBCOMMAND
    bclogout SUBCOMMAND --help

SUBCOMMANDS
`)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "    %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nEXIT STATUS\n%s\n", indent(exitStatusText, "    "))
}

// printManual renders a subcommand's help like a manual page.
func printManual(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "NAME\n    bclogout %s - %s\n\n", c.name, c.summary)
	fmt.Fprintf(w, "SYNOPSIS\n    bclogout %s %s\n\n", c.name, c.synopsis)
	fmt.Fprintf(w, "DESCRIPTION\n%s\n\n", indent(strings.TrimSpace(c.description), "    "))
	fmt.Fprint(w, "FLAGS\n")
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		f := fs.Lookup(n)
		typ, usage := flag.UnquoteUsage(f)
		head := "--" + f.Name
		if typ != "" {
			head += " " + typ
		}
		fmt.Fprintf(w, "    %s\n", head)
		text := usage
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0s" {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n", indent(wrap(text, 70), "        "))
	}
	fmt.Fprintf(w, "    --help\n        print this manual and exit 0\n\n")
	fmt.Fprintf(w, "EXAMPLES\n%s\n\n", indent(strings.TrimSpace(c.examples), "    "))
	fmt.Fprintf(w, "EXIT STATUS\n%s\n", indent(exitStatusText, "    "))
}

func indent(text, prefix string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// wrap breaks a paragraph at spaces so that lines stay under width.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(text) {
		if i > 0 {
			if n+1+len(word) > width {
				b.WriteByte('\n')
				n = 0
			} else {
				b.WriteByte(' ')
				n++
			}
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

// listFlag collects a flag that may be repeated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
