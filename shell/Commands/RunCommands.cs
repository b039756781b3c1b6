using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

/// <summary>Run control: each command runs the machine and reports where, and why, it stopped.</summary>
static class RunCommands
{
    public static IReadOnlyList<ShellCommand> All { get; } =
    [
        new("stepi", ["si"], "Execute N instructions (default 1)",
            "stepi [N]\nExecutes N instructions, into calls and through interrupt delivery, then shows the next one.\nExample: stepi 5",
            (d, args, o) => d.Report(d.StepInstruction(Debugger.Count(args)), o)),
        new("step", ["s"], "Step to the next source line, into calls (one instruction without a line table)",
            "step [N]\nRuns until the source line changes, N times, following calls. Without a line table for RIP it executes one\ninstruction, as stepi.\nExample: step",
            (d, args, o) => d.Report(d.Step(Debugger.Count(args)), o)),
        new("next", ["n"], "Step to the next source line, over calls",
            "next [N]\nAs step, but a call runs to its return as one step (a breakpoint inside still stops it).\nExample: next 3",
            (d, args, o) => d.Report(d.Next(Debugger.Count(args)), o)),
        new("finish", ["fin"], "Run until the current function returns",
            "finish\nSteps over calls until a return instruction (RET, IRET) has executed; stops at the caller.\nExample: finish",
            (d, args, o) => d.Report(d.Finish(), o)),
        new("continue", ["c", "cont"], "Run until a breakpoint, watchpoint, catchpoint, fault or halt",
            "continue [N]\nRuns the machine; Ctrl-C stops it. With N, runs past N-1 breakpoint stops first.\nExample: continue",
            (d, args, o) => d.Report(d.Continue(Debugger.Count(args)), o)),
        new("until", ["u"], "Run until a location is reached",
            "until LOC\nRuns until RIP reaches LOC (an address, symbol, symbol+offset or file.S:line), or something else stops it.\nExample: until sum+4",
            (d, args, o) => d.Report(d.Until(args), o)),
    ];
}
