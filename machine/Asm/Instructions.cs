namespace Repl.Machine.Asm;

/// <summary>What an instruction needs from the pass that reads it.</summary>
internal interface IInstructionContext : ILocalLabels
{
    /// <summary>16, 32 or 64: the .code16/.code32/.code64 in force.</summary>
    int Bitness { get; }

    AsmSyntax Syntax { get; }

    /// <summary>
    /// The expression's value at this point of the pass. GNU as chooses short immediates and displacements
    /// only for values already known to be absolute here; anything else gets the full-size field.
    /// </summary>
    Evaluation EvaluateNow(Expr expr);
}

/// <summary>
/// Parses one instruction statement (prefixes, mnemonic and operands, in the context's syntax) and chooses its
/// encoding as GNU as 2.40 does.
/// </summary>
internal static class InstructionAssembler
{
    /// <summary>
    /// Null, with an error message and the position it is about, when the statement is not an instruction this
    /// machine implements or its operands do not fit one.
    /// </summary>
    public static EncodedInstruction? Assemble(Cursor statement, IInstructionContext context, out string? error, out int errorPosition)
    {
        var parsed = context.Syntax == AsmSyntax.Intel
            ? IntelSyntax.Parse(statement, context, out error, out errorPosition)
            : AttSyntax.Parse(statement, context, out error, out errorPosition);
        return parsed is null ? null : InstructionSelector.Select(parsed, context, out error, out errorPosition);
    }
}
