using Ferry.Broker.Resources;
using Microsoft.Extensions.Logging;

namespace Ferry.Kafka.Server;

/// <summary>
/// Kafka's side of the memory budget (KIP-219): each Produce request read while the broker is over its memory limit
/// gets a throttle time from the budget's rule; its response carries it as throttle_time_ms and the connection reads
/// nothing more for that long (respond, then mute), so a client slows down whether or not it honours the field.
/// Only Produce is throttled: Fetch is what drains memory.
/// </summary>
public sealed partial class ProduceThrottle(MemoryBudget budget, ILogger<ProduceThrottle> logger)
{
    private int _throttling;
    private long _spellRequests;
    private long _spellMs;

    /// <summary>The throttle time for a Produce request read now, in ms (0: none); counted and logged.</summary>
    public int Next(string connectionId)
    {
        int ms = budget.ThrottleTimeMs();
        if (ms == 0)
        {
            if (Volatile.Read(ref _throttling) == 1 && Interlocked.Exchange(ref _throttling, 0) == 1)
            {
                long requests = Interlocked.Exchange(ref _spellRequests, 0), totalMs = Interlocked.Exchange(ref _spellMs, 0);
                Stopped(logger, requests, totalMs, budget.UsedBytes >> 20, budget.LimitBytes >> 20);
            }
            return 0;
        }
        if (Volatile.Read(ref _throttling) == 0 && Interlocked.Exchange(ref _throttling, 1) == 0)
            Started(logger, connectionId, budget.UsedBytes >> 20, budget.LimitBytes >> 20, ms);
        Interlocked.Increment(ref _spellRequests);
        Interlocked.Add(ref _spellMs, ms);
        KafkaMetrics.RecordThrottle(ms);
        return ms;
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning,
        Message = "Over the memory limit ({UsedMiB} MiB resident, limit {LimitMiB} MiB): throttling Kafka producers, first {ConnectionId} for {ThrottleMs} ms")]
    private static partial void Started(ILogger logger, string connectionId, long usedMiB, long limitMiB, int throttleMs);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information,
        Message = "Back under the memory limit ({UsedMiB} MiB resident, limit {LimitMiB} MiB): Kafka producers no longer throttled, after {Requests} throttled requests, {ThrottleMs} ms in all")]
    private static partial void Stopped(ILogger logger, long requests, long throttleMs, long usedMiB, long limitMiB);
}
