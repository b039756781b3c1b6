using System.Net.Sockets;
using System.Text;
using Repl.Machine;
using Repl.Shell.Interactive;
using Repl.Shell.Tests.Interactive;

namespace Repl.Shell.Tests.Commands;

public class GdbServerCommandTests
{
    readonly Session s = new();

    /// <summary>Sends one packet and returns the reply's payload, acknowledging it as gdb does.</summary>
    static string Exchange(NetworkStream stream, string payload)
    {
        int sum = Encoding.ASCII.GetBytes(payload).Sum(b => b) & 0xFF;
        stream.Write(Encoding.ASCII.GetBytes($"${payload}#{sum:x2}"));
        var reply = new StringBuilder();
        int hashAt = -1;
        while (hashAt < 0 || reply.Length < hashAt + 3)
        {
            int b = stream.ReadByte();
            Assert.NotEqual(-1, b);
            if (reply.Length == 0 && b == '+')
                continue;
            reply.Append((char)b);
            if (b == '#' && hashAt < 0)
                hashAt = reply.Length - 1;
        }
        stream.Write("+"u8);
        return reply.ToString(1, hashAt - 1);
    }

    static string Hex(string text) => Convert.ToHexStringLower(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Gdbserver_serves_the_machine_runs_monitor_commands_and_leaves_running_to_gdb_until_stopped()
    {
        string started = s.Run("gdbserver 127.0.0.1:0");
        var at = s.Debugger.Serving!;
        Assert.StartsWith($"gdbserver listening on {at}", started);

        using (var client = new TcpClient())
        {
            client.Connect(at);
            var stream = client.GetStream();
            Assert.StartsWith("T05", Exchange(stream, "?"));
            string reply = Exchange(stream, "qRcmd," + Hex("info symbol 0x10001d"));
            Assert.Equal(Hex("sum + 2 at 0x10001b (builtin.S:16)\n"), reply);
            Assert.Equal("OK", Exchange(stream, "D"));
        }

        Assert.StartsWith("error: 'stepi' is gdb's to do while gdbserver serves this machine", s.Run("stepi"));
        Assert.Contains("rip    0x100000 <_start>", s.Run("regs"));
        Assert.Equal("gdbserver stopped; the shell runs the machine again\n", s.Run("gdbserver stop"));
        s.Run("stepi");
        Assert.Equal(s.Symbol("_start") + 7, s.Rip);
    }

    [Fact]
    public async Task Gdbserver_stop_during_a_run_of_gdb_s_ends_the_run_and_disconnects_gdb()
    {
        s.Run("gdbserver 127.0.0.1:0");
        using var client = new TcpClient();
        client.Connect(s.Debugger.Serving!);
        var stream = client.GetStream();
        string assembled = Encoding.UTF8.GetString(Convert.FromHexString(Exchange(stream, "qRcmd," + Hex("asm $rip \"jmp .\""))));
        Assert.DoesNotContain("error", assembled);
        ulong loop = s.Rip;
        // A continue that the guest never ends: the stub's thread runs the machine in the machine's turn.
        stream.Write("$c#63"u8);
        Assert.Equal('+', stream.ReadByte());

        // Waited for with a bound only so that a deadlock fails the test instead of hanging the suite.
        string stopped = await Task.Run(() => s.Run("gdbserver stop")).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("gdbserver stopped; the shell runs the machine again\n", stopped);
        // gdb's connection ends: whatever the stub still sent (a stop reply), then the end of the stream.
        stream.ReadTimeout = 60_000;
        var rest = new byte[4096];
        int read;
        while ((read = stream.Read(rest)) > 0)
        {
        }
        Assert.Equal(0, read);
        // The stop that ended gdb's run is not left over to stop the shell's next one.
        Assert.NotEqual(StopKind.Interrupted, s.Debugger.Machine.Run(100).Kind);
        Assert.Equal(loop, s.Rip);
    }

    [Fact]
    public void A_line_typed_while_serving_withdraws_the_shells_ctrl_c_but_not_a_stop_gdb_asked_for()
    {
        s.Run("gdbserver 127.0.0.1:0");
        // gdb's Ctrl-C, as the stub makes it, not yet reached by the run; then a line ends at the prompt, which
        // withdraws whatever Ctrl-C of the shell's own it did not take up.
        s.Debugger.Machine.RequestStop(StopRequester.Remote);
        new Repl.Shell.Interactive.Session(new DebuggerCommandRunner(Task.FromResult(s.Debugger)), new FakeCode(),
                                           new ScriptedReader("stepi"), TextWriter.Null, TextWriter.Null).Run();

        // (No gdb is attached, so this thread may run the machine to see the request.)
        Assert.Equal(StopKind.Interrupted, s.Debugger.Machine.Run(100).Kind);
        s.Run("gdbserver stop");
    }

    [Fact]
    public void Gdbserver_with_a_bad_address_or_stop_when_not_serving_is_an_error()
    {
        Assert.StartsWith("error: 'localhost' is not ADDRESS:PORT", s.Run("gdbserver localhost"));
        Assert.StartsWith("error: gdbserver is not running", s.Run("gdbserver stop"));
    }
}
