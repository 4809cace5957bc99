namespace Ferry.Fuzz;

/// <summary>
/// The bound every target is held to: one run allocates at most ten times its input plus the target's allowance
/// (a decoder must never allocate a size read off the wire). Under the fuzzer an excess is a crash like an
/// exception, so libFuzzer keeps the input; the replay tests apply the same check.
/// </summary>
internal static class AllocationBound
{
    public static long Limit(IFuzzTarget target, int inputLength) => 10L * inputLength + target.AllocationAllowance;

    /// <summary>Bytes this thread allocated running <paramref name="input"/> once.</summary>
    public static long Measure(IFuzzTarget target, ReadOnlySpan<byte> input)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        target.Run(input);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>
    /// Runs <paramref name="input"/>; over the limit, runs it again (the first run of a path also pays for JIT and
    /// static set-up) and throws if the second run is over too.
    /// </summary>
    public static void RunChecked(IFuzzTarget target, ReadOnlySpan<byte> input)
    {
        long limit = Limit(target, input.Length);
        if (Measure(target, input) <= limit) return;
        long allocated = Measure(target, input);
        if (allocated > limit)
            throw new AllocationBoundException($"{target.Name}: {allocated} bytes allocated for {input.Length} bytes of input (limit {limit}).");
    }
}

internal sealed class AllocationBoundException(string message) : Exception(message);
