namespace Repl.Machine.Asm;

/// <summary>Placeholder until the Intel-syntax parser lands; it replaces this file.</summary>
internal static class IntelSyntax
{
    public static ParsedInstruction? Parse(Cursor statement, IInstructionContext context, out string? error, out int errorPosition)
    {
        error = "Intel syntax is not implemented yet";
        errorPosition = statement.Position;
        return null;
    }
}
