namespace Repl.Machine.Asm;

// Inside the namespace, so that Register, Code and friends are Iced's rather than Repl.Machine's.
using Iced.Intel;

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
        => throw new NotImplementedException("the encoder helper replaces this");
}

/// <summary>
/// An instruction whose form is chosen and whose length is fixed, except that a relaxable branch (jmp/jcc to a
/// label) starts short and may grow once to its near form. The bytes are produced after layout, when every
/// expression it holds has its final value.
/// </summary>
internal sealed class EncodedInstruction
{
    /// <summary>Bytes it occupies in the current form.</summary>
    public int Length => throw new NotImplementedException();

    /// <summary>The target of a relaxable branch still in its short form; null otherwise.</summary>
    public Expr? BranchTarget => throw new NotImplementedException();

    /// <summary>The length after <see cref="MakeNear"/>.</summary>
    public int NearLength => throw new NotImplementedException();

    /// <summary>Grows a relaxable branch to its near form (rel16/rel32).</summary>
    public void MakeNear() => throw new NotImplementedException();

    /// <summary>
    /// The final bytes at <paramref name="ip"/>, with <paramref name="evaluate"/> giving each expression's final
    /// value (absolute after layout). Null with an error and its position when a value is undefined or does not
    /// fit its field.
    /// </summary>
    public byte[]? Encode(ulong ip, Func<Expr, Evaluation> evaluate, out string? error, out int errorPosition)
        => throw new NotImplementedException();

    internal Instruction Template => throw new NotImplementedException();
}
