using System.Diagnostics;
using Ferry.Storage.Diagnostics;

namespace Ferry.Storage.Durability;

/// <summary>
/// Group commit: writers that need their appends on disk wait on a shared fsync round instead of each
/// calling fsync. While one round's fsync runs, every writer that arrives joins the next round, so N
/// concurrent writers cost about two fsyncs, not N. Rounds run on <see cref="FsyncWorkers"/>.
/// </summary>
/// <remarks>
/// A round marks itself running, swaps in a fresh completion source, then reads the log end offset. A writer
/// that appended and then picked up the old source is covered by the offset read after the swap. One that
/// picked up the new source sees the round running and asks for another. Either way no writer is released
/// before its bytes are synced, and no request for a round is lost.
/// </remarks>
internal sealed class GroupCommitter
{
    private const int Idle = 0;
    private const int Scheduled = 1;
    private const int Running = 2;
    private const int RunningAndRequested = 3;

    private readonly Func<long> _logEndOffset;
    private readonly Action<long> _flushThrough;
    private TaskCompletionSource _nextRound = NewRound();
    private long _durableOffset;
    private int _state;
    private long _rounds;

    public GroupCommitter(long durableOffset, Func<long> logEndOffset, Action<long> flushThrough)
    {
        _durableOffset = durableOffset;
        _logEndOffset = logEndOffset;
        _flushThrough = flushThrough;
    }

    /// <summary>Every offset below this is on disk.</summary>
    public long DurableOffset => Volatile.Read(ref _durableOffset);

    public long Rounds => Volatile.Read(ref _rounds);

    /// <summary>Completes once every offset below <paramref name="endOffset"/> is on disk.</summary>
    public Task WaitAsync(long endOffset)
    {
        if (endOffset <= DurableOffset) return Task.CompletedTask;
        var round = Volatile.Read(ref _nextRound).Task;
        RequestRound();
        return round;
    }

    private void RequestRound()
    {
        while (true)
        {
            switch (Volatile.Read(ref _state))
            {
                case Idle:
                    if (Interlocked.CompareExchange(ref _state, Scheduled, Idle) != Idle) continue;
                    FsyncWorkers.Schedule(this);
                    return;
                case Running:
                    if (Interlocked.CompareExchange(ref _state, RunningAndRequested, Running) != Running) continue;
                    return;
                default:
                    return; // scheduled (its swap is still to come) or already asked to run again
            }
        }
    }

    /// <summary>Runs rounds until nobody asks for another. Called on an fsync worker thread.</summary>
    internal void RunRounds()
    {
        while (true)
        {
            Volatile.Write(ref _state, Running);
            var round = Interlocked.Exchange(ref _nextRound, NewRound());
            long end = _logEndOffset();
            long started = Stopwatch.GetTimestamp();
            try
            {
                _flushThrough(end);
                StorageMetrics.FsyncDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                Volatile.Write(ref _durableOffset, Math.Max(DurableOffset, end));
                Interlocked.Increment(ref _rounds);
                round.TrySetResult();
            }
            catch (Exception ex)
            {
                // A failed fsync means the kernel may have dropped dirty pages: this round's writes cannot be
                // promised, so their writers get the error (PostgreSQL's "fsyncgate" lesson).
                round.TrySetException(ex);
            }
            if (Interlocked.CompareExchange(ref _state, Idle, Running) == Running) return;
        }
    }

    /// <summary>
    /// Marks offsets as durable without a round (after a synchronous flush, or truncation), and releases
    /// writers waiting for the next round: their bytes are covered by that flush.
    /// </summary>
    public void Reset(long durableOffset)
    {
        Volatile.Write(ref _durableOffset, durableOffset);
        Interlocked.Exchange(ref _nextRound, NewRound()).TrySetResult();
    }

    /// <summary>After truncation: offsets at or past the new log end are no longer durable (they no longer exist).</summary>
    public void LowerDurableOffset(long logEnd)
    {
        long current;
        while ((current = DurableOffset) > logEnd && Interlocked.CompareExchange(ref _durableOffset, logEnd, current) != current)
        {
        }
    }

    private static TaskCompletionSource NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
