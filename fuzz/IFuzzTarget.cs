namespace Ferry.Fuzz;

/// <summary>
/// One decoder under fuzzing. <see cref="Run"/> feeds it an input the way the broker's own path does and
/// swallows only the exceptions that path turns into a protocol error or a clean close; anything else escapes,
/// and SharpFuzz reports it as a crash.
/// </summary>
internal interface IFuzzTarget
{
    /// <summary>The name on the command line and the folder of its corpus (fuzz/corpus/NAME, fuzz/crashes/NAME).</summary>
    string Name { get; }

    /// <summary>
    /// Bytes one run may allocate beyond ten times its input: the fixed cost of a run (an exception with its stack
    /// trace, a first buffer) and, for decompression, the output cap.
    /// </summary>
    long AllocationAllowance { get; }

    void Run(ReadOnlySpan<byte> input);
}
