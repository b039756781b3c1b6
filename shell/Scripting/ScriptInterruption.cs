using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Repl.Shell.Scripting;

/// <summary>
/// Ctrl-C for C#. Roslyn only looks at a cancellation token between submissions, and a thread cannot be stopped
/// safely in .NET, so a submission is made to stop itself: each loop body, and each goto (a loop written by hand),
/// starts with a call to <see cref="Poll"/>, which throws <see cref="ScriptInterruptedException"/> once the session is
/// asked to stop. It throws at every pass until the evaluation ends, so a catch inside the loop cannot swallow it for
/// good. The polls go on the lines they guard, so runtime errors keep their script lines; the files a submission or a
/// script #loads get them too (<see cref="ScriptOptionsFactory.For"/>). What is not a loop in the
/// submission (a blocking call, a method of a referenced assembly, runaway recursion) cannot be stopped this way.
/// </summary>
public sealed class ScriptInterruption
{
    /// <summary>The interruption of the evaluation running in this flow of execution (it follows awaits).</summary>
    static readonly AsyncLocal<ScriptInterruption?> Current = new();

    volatile bool _requested;

    /// <summary>Called by instrumented code at the top of each loop pass: throws when Ctrl-C asked the evaluation to stop.</summary>
    public static void Poll()
    {
        if (Current.Value is { _requested: true })
            throw new ScriptInterruptedException();
    }

    /// <summary>Asks the running evaluation to stop at its next poll; safe from another thread (the Ctrl-C handler).</summary>
    public void Request() => _requested = true;

    /// <summary>The evaluation about to run on this thread answers to this interruption; a request left from before
    /// (a Ctrl-C that came as the last one ended) is forgotten.</summary>
    public void Begin()
    {
        _requested = false;
        Current.Value = this;
    }

    /// <summary>The submission with a poll at the top of every loop body and before every goto; the same string when
    /// it has neither.</summary>
    public static string Instrument(string code)
    {
        var root = SyntaxFactory.ParseSyntaxTree(code, CSharpParseOptions.Default.WithKind(SourceCodeKind.Script)).GetRoot();
        if (!root.DescendantNodes().Any(n => n is WhileStatementSyntax or DoStatementSyntax or ForStatementSyntax
                                                 or CommonForEachStatementSyntax or GotoStatementSyntax))
            return code;
        return new PollInserter().Visit(root)!.ToFullString();
    }

    sealed class PollInserter : CSharpSyntaxRewriter
    {
        // No trivia of its own: inserted on the line it guards, it moves no line.
        static readonly StatementSyntax PollCall = SyntaxFactory.ParseStatement($"global::{typeof(ScriptInterruption).FullName}.{nameof(Poll)}();");

        /// <summary>Each node after its children: a loop gets the poll at the top of its body, a goto one before it.</summary>
        public override SyntaxNode? Visit(SyntaxNode? node) => base.Visit(node) switch
        {
            WhileStatementSyntax loop => loop.WithStatement(Polled(loop.Statement)),
            DoStatementSyntax loop => loop.WithStatement(Polled(loop.Statement)),
            ForStatementSyntax loop => loop.WithStatement(Polled(loop.Statement)),
            CommonForEachStatementSyntax loop => loop.WithStatement(Polled(loop.Statement)),
            GotoStatementSyntax jump => SyntaxFactory.Block(PollCall, jump.WithoutLeadingTrivia()).WithLeadingTrivia(jump.GetLeadingTrivia()),
            var other => other,
        };

        static BlockSyntax Polled(StatementSyntax body) =>
            body is BlockSyntax block ? block.WithStatements(block.Statements.Insert(0, PollCall)) : SyntaxFactory.Block(PollCall, body);
    }
}

/// <summary>C# stopped by Ctrl-C: the session reports it as the line it stopped at, and keeps its state.</summary>
public sealed class ScriptInterruptedException() : OperationCanceledException("interrupted (Ctrl-C)");
