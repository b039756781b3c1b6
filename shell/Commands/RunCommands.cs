using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

/// <summary>Run control: each command runs the machine and reports where, and why, it stopped.</summary>
static class RunCommands
{
    public static IReadOnlyList<ShellCommand> All { get; } =
    [
        new("stepi", ["si"], "Execute N instructions (default 1)",
            "stepi [N]\nExecutes N instructions, into calls and through interrupt delivery, then shows the next one.\nAn empty line repeats it, as it repeats most commands (gdb's rule).\nExample: stepi 5",
            (d, args, o) => d.Report(d.StepInstruction(Debugger.Count(args)), o), RunsMachine: true, Repeat: Repeat.Same),
        new("step", ["s"], "Step to the next source line, into calls (one instruction without a line table)",
            "step [N]\nRuns until the source line changes, N times, following calls. Without a line table for RIP it executes one\ninstruction, as stepi.\nExample: step",
            (d, args, o) => d.Report(d.Step(Debugger.Count(args)), o), RunsMachine: true, Repeat: Repeat.Same),
        new("next", ["n"], "Step to the next source line, over calls",
            "next [N]\nAs step, but a call runs to its return as one step (a breakpoint inside still stops it).\nExample: next 3",
            (d, args, o) => d.Report(d.Next(Debugger.Count(args)), o), RunsMachine: true, Repeat: Repeat.Same),
        new("finish", ["fin"], "Run until the current function returns",
            "finish\nSteps over calls until a return instruction (RET, IRET) has executed; stops at the caller.\nExample: finish",
            (d, args, o) => d.Report(d.Finish(), o), RunsMachine: true, Repeat: Repeat.Same),
        new("continue", ["c", "cont"], "Run until a breakpoint, watchpoint, catchpoint, fault or halt",
            "continue [N]\nRuns the machine; Ctrl-C stops it. With N, runs past N-1 breakpoint stops first.\nExample: continue",
            (d, args, o) => d.Report(d.Continue(Debugger.Count(args)), o), RunsMachine: true, Repeat: Repeat.Same),
        new("until", ["u"], "Run until a location is reached",
            "until LOC\nRuns until RIP reaches LOC (an address, symbol, symbol+offset or file.S:line), or something else stops it.\nExample: until sum+4",
            (d, args, o) => d.Report(d.Until(args), o), RunsMachine: true, Repeat: Repeat.Same, Arguments: Completions.FirstLocation),
        new("trace", [], "Record the instructions runs execute: trace on|off|show [N]",
            $"trace on | off | show [N]\nWhile on, runs go one instruction at a time (slower) and the last {TraceRing.DefaultCapacity} instructions are kept with\nthe registers and MSRs each changed (SWAPGS: gsbase and kernel_gs_base); show prints the last N (default 20). Off runs at full speed and keeps nothing new.\nExample: trace on, then stepi 5, then trace show 5",
            Trace, Arguments: Completions.First("on", "off", "show")),
    ];

    const int DefaultShown = 20;

    static void Trace(Debugger d, string args, TextWriter o)
    {
        string[] words = BreakpointCommands.Words(args);
        switch (words)
        {
            case ["on"]:
                d.Trace.Enabled = true;
                o.WriteLine("trace on: runs are recorded one instruction at a time");
                return;
            case ["off"]:
                d.Trace.Enabled = false;
                o.WriteLine("trace off");
                return;
            case ["show", .. var count] when count.Length <= 1:
                var entries = d.Trace.Last(count.Length == 0 ? DefaultShown : Debugger.Count(count[0]));
                if (entries.Count == 0)
                    o.WriteLine(d.Trace.Enabled ? "nothing traced yet: run or step" : "nothing traced: 'trace on' first, then run or step");
                foreach (var e in entries)
                    o.WriteLine($"[{e.InstructionNumber}] {e.Instruction}{(e.Changes.Length == 0 ? "" : "\n        " + e.Changes)}");
                return;
            default:
                throw new CommandException("trace on, trace off, or trace show [N]");
        }
    }
}
