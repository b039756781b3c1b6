using System.CommandLine;

namespace Repl.Shell;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

static class Program
{
    static int Main(string[] args)
    {
        var cpu = new Option<CpuVendor>("--cpu")
        {
            Description = "Vendor profile of the emulated processor: intel or amd",
            DefaultValueFactory = _ => CpuVendor.Intel,
        };
        var demo = new Command("demo", "Run the built-in demonstration program and print the machine's state.\n"
                                       + "Example: repl demo --cpu amd") { cpu };
        demo.SetAction(result => Demo.Run(result.GetValue(cpu), Console.Out));

        var root = new RootCommand("Repl: an emulated x86-64 PC for understanding and testing kernel entry code.") { demo };
        return root.Parse(args).Invoke();
    }
}
