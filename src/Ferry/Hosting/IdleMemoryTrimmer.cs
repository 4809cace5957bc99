using System.Runtime;

namespace Ferry.Hosting;

/// <summary>
/// Gives memory back once a burst of load is over: every period it lets go of pooled receive and send blocks that
/// went unused all period, and when the broker has been quiet for a whole period after being busy, it runs one
/// aggressive full collection, which returns the freed heap to the operating system. Without it a process that
/// once held a burst's buffers keeps that resident size for good.
/// </summary>
/// <remarks>
/// The collection is blocking, so it only runs when the process allocated little in the period (it is idle, not
/// throttled), once per quiet spell, and only when there is something to give back.
/// </remarks>
internal sealed partial class IdleMemoryTrimmer(LargeBlockMemoryPoolFactory pools, ILogger<IdleMemoryTrimmer> logger) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);
    /// <summary>Allocation in one period below which the broker counts as quiet (~1.6 MB/s: heartbeats and metadata).</summary>
    private const long QuietAllocationBytes = 16L << 20;
    /// <summary>Committed heap beyond what is live, worth a blocking collection to return.</summary>
    private const long WorthReturningBytes = 16L << 20;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        long allocatedBefore = GC.GetTotalAllocatedBytes();
        bool returnedSinceBusy = true; // nothing to give back before the first load
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                long released = 0;
                foreach (var pool in pools.Pools) released += pool.TrimUnused();
                long allocated = GC.GetTotalAllocatedBytes();
                bool quiet = allocated - allocatedBefore < QuietAllocationBytes;
                allocatedBefore = allocated;
                if (!quiet)
                {
                    returnedSinceBusy = false;
                    continue;
                }
                if (returnedSinceBusy) continue;
                var info = GC.GetGCMemoryInfo();
                if (released == 0 && info.TotalCommittedBytes - info.HeapSizeBytes < WorthReturningBytes) continue;
                long before = Environment.WorkingSet;
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                returnedSinceBusy = true;
                Returned(logger, released >> 20, before >> 20, Environment.WorkingSet >> 20);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [LoggerMessage(EventId = 1050, Level = LogLevel.Debug,
        Message = "Quiet after load: released {PooledMiB} MiB of pooled buffers; resident memory {BeforeMiB} MiB -> {AfterMiB} MiB")]
    private static partial void Returned(ILogger logger, long pooledMiB, long beforeMiB, long afterMiB);
}
