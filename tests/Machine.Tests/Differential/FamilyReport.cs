using System.Text;
using Iced.Intel;

namespace Repl.Machine.Tests.Differential;

/// <summary>The text of one mismatch: the instruction, its inputs, and both outcomes side by side.</summary>
sealed partial class Family
{
    readonly IntelFormatter _formatter = new(new FormatterOptions { HexPrefix = "0x", HexSuffix = null, UppercaseHex = false }, null, null);

    string Report(DiffCase c, int number, string problem, string? failure, ulong hostFlags, ulong emulatedFlags, int firstMemoryDifference)
    {
        var output = new StringOutput();
        _formatter.Format(c.Instruction, output);
        var s = new StringBuilder();
        s.AppendLine($"#{number} {output.ToStringAndReset()}    [{Convert.ToHexString(c.Code)}]    form {c.Form}");
        s.AppendLine($"    differs: {problem}");
        if (c.Notes.Count > 0)
            s.AppendLine($"    not compared: {string.Join("; ", c.Notes)}");

        var used = new HashSet<int>();
        foreach (var r in _info.GetInfo(c.Instruction).GetUsedRegisters())
            if (r.Register.IsGPR())
                used.Add(DiffCase.Locate(r.Register).Gpr);
        s.AppendLine($"      {"",-7} {"input",-18} {"host",-18} {(failure is null ? "emulator" : "emulator (did not complete)")}");
        for (int i = 0; i < GprCount; i++)
        {
            ulong input = c.Gpr[i], host = _hostGpr[i], emulated = _emulatedGpr[i];
            bool isRsp = i == (int)Gpr.Rsp;
            bool differs = failure is null && (isRsp ? emulated != EmulatedCpu.StackPointer : ((host ^ emulated) & Compared(c, i)) != 0);
            bool changed = !isRsp && (host != input || emulated != input);
            if (!differs && !changed && !used.Contains(i))
                continue;
            string hostText = isRsp ? "(host's own)" : $"{host:x16}";
            string masked = Compared(c, i) == GprMask ? "" : $"  compared bits {Compared(c, i):x16}";
            s.AppendLine($"    {(differs ? '*' : ' ')} {GprName(i),-7} {input:x16}   {hostText,-18} {emulated:x16}{masked}");
        }
        ulong flagDiff = failure is null ? (hostFlags ^ emulatedFlags) & c.FlagMask : 0;
        s.AppendLine($"    {(flagDiff != 0 ? '*' : ' ')} {"flags",-7} {Flag.Format(c.Flags),-18} {Flag.Format(hostFlags & Flag.All),-18} "
                     + $"{Flag.Format(emulatedFlags & Flag.All),-18}{(flagDiff != 0 ? $" differ: {Flag.Format(flagDiff)}" : "")}");

        if (c.HasMemory)
            AppendMemory(s, c, c.MemoryAddress, Math.Min(c.Instruction.MemorySize.GetSize(), 16), "operand", false);
        if (firstMemoryDifference >= 0)
            AppendMemory(s, c, c.WindowAddress + (ulong)(firstMemoryDifference & ~15), 16, "memory", true);
        return s.ToString();
    }

    void AppendMemory(StringBuilder s, DiffCase c, ulong address, int length, string label, bool differs)
    {
        int offset = (int)(address - c.WindowAddress);
        length = Math.Min(length, c.Window.Length - offset);
        string Bytes(byte[] b) => Convert.ToHexString(b, offset, length);
        s.AppendLine($"    {(differs ? '*' : ' ')} {label,-7} at 0x{address:x}: input {Bytes(c.Window)}  host {Bytes(_hostWindow)}  emulator {Bytes(_emulatedWindow)}");
    }
}
