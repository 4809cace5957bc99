using System.Diagnostics;
using System.Runtime;
using Ferry.Broker.Resources;

namespace Ferry.Hosting;

/// <summary>
/// Gives memory back while the process is over its <see cref="MemoryBudget"/>: lets go of every pooled receive and
/// send block kept for reuse and runs one aggressive, compacting collection, which returns the freed heap to the
/// operating system. Producers are held back meanwhile, so the process allocates little and the collector would
/// otherwise not run: the resident size would stay over the limit and keep them throttled for good.
/// </summary>
/// <remarks>
/// At most once per <see cref="MinInterval"/>: a blocking collection of a heap this size takes milliseconds, and
/// between two of them the consumers drain what the producers had sent.
/// </remarks>
internal sealed partial class MemoryPressureReclaimer : IDisposable
{
    private static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(1);

    private readonly MemoryBudget _budget;
    private readonly LargeBlockMemoryPoolFactory _pools;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private long _lastReclaim;

    // The alarm's timer is what samples the budget: taking it here makes sure it runs from the start.
    public MemoryPressureReclaimer(ResourceAlarm alarm, LargeBlockMemoryPoolFactory pools, ILogger<MemoryPressureReclaimer> logger)
    {
        _budget = alarm.Memory;
        _pools = pools;
        _logger = logger;
        _budget.OverLimit += Reclaim;
    }

    private void Reclaim()
    {
        lock (_lock)
        {
            if (_lastReclaim != 0 && Stopwatch.GetElapsedTime(_lastReclaim) < MinInterval) return;
            long released = 0;
            foreach (var pool in _pools.Pools) released += pool.ReleaseAll();
            long before = _budget.UsedBytes;
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            _lastReclaim = Stopwatch.GetTimestamp();
            long after = _budget.Sample();
            Reclaimed(_logger, released >> 20, before >> 20, after >> 20, _budget.LimitBytes >> 20);
        }
    }

    public void Dispose() => _budget.OverLimit -= Reclaim;

    [LoggerMessage(EventId = 1051, Level = LogLevel.Debug,
        Message = "Over the memory limit: released {PooledMiB} MiB of pooled buffers and collected; resident memory {BeforeMiB} MiB -> {AfterMiB} MiB, limit {LimitMiB} MiB")]
    private static partial void Reclaimed(ILogger logger, long pooledMiB, long beforeMiB, long afterMiB, long limitMiB);
}
