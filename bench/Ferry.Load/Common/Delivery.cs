using System.Collections;

namespace Ferry.Load.Common;

/// <summary>
/// Counts what the broker acknowledged to the publisher and what the consumer received, by sequence
/// number; <see cref="ExactlyOnce"/> holds when every acknowledged message was received once and nothing
/// else was. Received stamps past the warm-up feed the latency recorder.
/// </summary>
internal sealed class Delivery(long warmupSequences)
{
    /// <summary>How long a consumer may go without receiving anything before a run gives up on it.</summary>
    public static readonly TimeSpan IdleLimit = TimeSpan.FromSeconds(30);

    // 64 Mi sequence numbers: far beyond what a run on this machine publishes.
    private readonly BitArray _seen = new(1 << 26);
    private readonly Lock _lock = new();
    private long _acked, _failed, _consumed, _duplicates, _outOfRange;

    public LatencyRecorder Latency { get; } = new();
    public long Acked => Interlocked.Read(ref _acked);
    public long Failed => Interlocked.Read(ref _failed);
    public long Consumed => Interlocked.Read(ref _consumed);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long OutOfRange => Interlocked.Read(ref _outOfRange);

    public void OnAcked(long count = 1) => Interlocked.Add(ref _acked, count);
    public void OnFailed(long count = 1) => Interlocked.Add(ref _failed, count);

    /// <summary>Records one received message; <paramref name="recordLatency"/> false for read-back checks.</summary>
    public void OnReceived(Stamp stamp, bool recordLatency = true)
    {
        if (recordLatency && stamp.Sequence >= warmupSequences) Latency.Record(stamp.SentTimestamp);
        lock (_lock)
        {
            if ((ulong)stamp.Sequence >= (ulong)_seen.Length) _outOfRange++;
            else if (_seen[(int)stamp.Sequence]) _duplicates++;
            else _seen[(int)stamp.Sequence] = true;
            _consumed++;
        }
    }

    /// <summary>True once the consumer has as many messages as were acknowledged (or sent, for fire-and-forget).</summary>
    public bool CaughtUp(long expected) => Consumed >= expected;

    /// <summary>
    /// Waits for the consumer to reach <paramref name="expected"/> messages, however long a backlog takes to
    /// drain, but gives up after <paramref name="idleLimit"/> without a single message arriving.
    /// </summary>
    public async Task<bool> WaitCaughtUpAsync(long expected, TimeSpan idleLimit)
    {
        long last = Consumed;
        var idle = System.Diagnostics.Stopwatch.StartNew();
        while (!CaughtUp(expected))
        {
            await Task.Delay(5).ConfigureAwait(false);
            long now = Consumed;
            if (now != last) { last = now; idle.Restart(); }
            else if (idle.Elapsed > idleLimit) return false;
        }
        return true;
    }

    public bool ExactlyOnce(long sent) =>
        Failed == 0 && Acked == sent && Consumed == Acked && Duplicates == 0 && OutOfRange == 0;
}
