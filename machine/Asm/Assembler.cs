namespace Repl.Machine.Asm;

/// <summary>The assembler's entry point (layout rule documented here by the front-end helper).</summary>
public static class Assembler
{
    /// <summary>Assembles source text; never throws on bad input: problems are in the result's diagnostics.</summary>
    public static AssemblyResult Assemble(string text, AsmOptions? options = null) => throw new NotImplementedException("the front-end helper replaces this");
}
