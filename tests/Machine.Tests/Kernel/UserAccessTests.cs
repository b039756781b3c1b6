using System.Text;
using Repl.Machine.Kernel;

namespace Repl.Machine.Tests.Kernel;

/// <summary>
/// User pointers reach only user memory. The kernel is identity-mapped below TASK_SIZE_MAX, so a user RSP can point
/// into kernel pages: a fault there must not make deliver_user_fault write its frame into the kernel. Linux cannot
/// build that signal frame either and kills the task; ours ends the run with the fatal user fault report.
/// (The self-test's selftest_uaccess.S checks the system calls' -EFAULT.)
/// </summary>
public class UserAccessTests
{
    const ulong Budget = 50_000_000;

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void A_user_fault_with_rsp_in_kernel_memory_is_fatal_and_leaves_that_memory_untouched(CpuVendor vendor)
    {
        var defines = new Dictionary<string, long>();
        var symbols = EntryKernel.Assemble(defines);
        ulong Sym(string name) => symbols.AddressOf(name) ?? throw new InvalidOperationException($"no symbol {name}");
        var m = new Machine(new MachineOptions { Vendor = vendor });
        var serial = new StringBuilder();
        m.Com1.Transmitted += b => serial.Append((char)b);
        EntryKernel.Boot(m, defines);
        // At the #UD check: the fault handler is registered (test_fault_setup ran before it).
        m.Cpu.Breakpoints.Add(Sym("test_fault_ud"));
        Assert.Equal(StopKind.Breakpoint, m.Run(Budget).Kind);
        m.Cpu.Breakpoints.Clear();
        // The user's RSP inside the 64-bit system call table: the frame would land on its handlers.
        ulong table = Sym("sys_call_table"), rsp = table + 0x800;
        var before = new byte[0x1000];
        m.ReadPhysical(table, before);
        m.State.Gpr[(int)Gpr.Rsp] = rsp;

        var stop = m.Run(Budget);

        var after = new byte[0x1000];
        m.ReadPhysical(table, after);
        Assert.Equal(before, after);
        Assert.Equal(StopKind.DebugExit, stop.Kind);
        Assert.Equal(0x7f << 1 | 1, stop.ExitStatus);
        Assert.Matches("FATAL user fault vector 0x0000000000000006 at RIP 0x[0-9a-f]{16}\n$", serial.ToString());
    }
}
