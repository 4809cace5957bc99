namespace Ferry.Broker.Resources;

/// <summary>
/// The broker's memory limit, enforced on both protocols: while the process's resident memory is above it, Kafka
/// producers are throttled (KIP-219 throttle_time_ms, their connection muted for that time) and AMQP publishers
/// blocked (the resource alarm's connection.blocked). Consumers are never held back: they are what drains memory.
/// </summary>
/// <remarks>
/// The measure is resident memory (<see cref="ResidentMemory"/>), not the managed heap: a fast producer's memory is
/// mostly pinned receive blocks, pooled buffers and socket buffers, which the heap size alone undercounts, and RSS
/// is what the kernel and a container's limit hold the process to. <see cref="Sample"/> refreshes the reading
/// (the resource alarm's timer calls it); the produce path reads the last sample and so costs nothing.
/// </remarks>
public sealed class MemoryBudget
{
    /// <summary>The longest a single Produce response throttles its producer (KIP-219 leaves the bound to the broker).</summary>
    public const int MaxThrottleTimeMs = 1000;

    /// <summary>How far over the limit, as a share of it, earns <see cref="MaxThrottleTimeMs"/>: 5 %, so that the
    /// full brake is on well before the +10 % the limit is meant to hold to.</summary>
    public const double FullThrottleOverShare = 0.05;

    private readonly Func<long> _residentBytes;
    private long _usedBytes;

    public MemoryBudget(long limitBytes, Func<long>? residentBytes = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitBytes);
        LimitBytes = limitBytes;
        _residentBytes = residentBytes ?? ResidentMemory.Bytes;
        Sample();
    }

    /// <summary>
    /// The default limit: <paramref name="highWatermark"/> (RabbitMQ's vm_memory_high_watermark, 0.6) of the memory
    /// available to the process: physical RAM, or the container's (cgroup) limit, or the GC's hard limit, whichever
    /// the runtime found; so a broker in a 512 MB container stops taking data at ~307 MB, before the kernel kills it.
    /// </summary>
    public static long DefaultLimitBytes(double highWatermark) =>
        Math.Max(1, (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * highWatermark));

    public long LimitBytes { get; }

    /// <summary>Resident bytes at the last <see cref="Sample"/>.</summary>
    public long UsedBytes => Volatile.Read(ref _usedBytes);

    public bool IsOver => UsedBytes > LimitBytes;

    /// <summary>
    /// Fired (on the sampling thread) by each sample that finds the process over its limit, so that the host can give
    /// back what it keeps only for speed (pooled blocks, collected but uncommitted heap): without that, a producer
    /// held back allocates nothing, no collection runs, and the process would stay over the limit for good.
    /// </summary>
    public event Action? OverLimit;

    /// <summary>Reads the resident memory now; returns it.</summary>
    public long Sample()
    {
        long used = _residentBytes();
        Volatile.Write(ref _usedBytes, used);
        if (used > LimitBytes) OverLimit?.Invoke();
        return used;
    }

    /// <summary>How long to throttle a producer now (0 when under the limit).</summary>
    public int ThrottleTimeMs() => ThrottleTimeMs(UsedBytes, LimitBytes);

    /// <summary>
    /// The throttle rule: nothing at or under the limit; above it, proportional to how far over (so a producer slows
    /// just enough for the consumers and the collector to catch up), from 1 ms up to <see cref="MaxThrottleTimeMs"/>
    /// at <see cref="FullThrottleOverShare"/> over and beyond.
    /// </summary>
    public static int ThrottleTimeMs(long usedBytes, long limitBytes)
    {
        if (usedBytes <= limitBytes) return 0;
        double over = (double)(usedBytes - limitBytes) / (limitBytes * FullThrottleOverShare);
        return over >= 1 ? MaxThrottleTimeMs : Math.Max(1, (int)Math.Ceiling(over * MaxThrottleTimeMs));
    }
}
