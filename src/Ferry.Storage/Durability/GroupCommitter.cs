using System.Diagnostics;
using Ferry.Storage.Diagnostics;

namespace Ferry.Storage.Durability;

/// <summary>
/// Group commit: writers that need their appends on disk wait on a shared fsync round instead of each
/// calling fsync. While one fsync runs, every writer that arrives joins the next round, so N concurrent
/// writers cost about two fsyncs, not N.
/// </summary>
/// <remarks>
/// A round swaps in a fresh completion source first and reads the log end offset second. A writer that
/// appended and then picked up the old source is covered by the offset read after the swap; one that picked
/// up the new source waits one more round. Either way no writer is released before its bytes are synced.
/// </remarks>
internal sealed class GroupCommitter : IAsyncDisposable
{
    private readonly Func<long> _logEndOffset;
    private readonly Action<long> _flushThrough;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private TaskCompletionSource _nextRound = NewRound();
    private long _durableOffset;
    private int _pending;

    public GroupCommitter(long durableOffset, Func<long> logEndOffset, Action<long> flushThrough)
    {
        _durableOffset = durableOffset;
        _logEndOffset = logEndOffset;
        _flushThrough = flushThrough;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Every offset below this is on disk.</summary>
    public long DurableOffset => Volatile.Read(ref _durableOffset);

    public long Rounds { get; private set; }

    /// <summary>Completes once every offset below <paramref name="endOffset"/> is on disk.</summary>
    public Task WaitAsync(long endOffset)
    {
        if (endOffset <= DurableOffset) return Task.CompletedTask;
        var round = Volatile.Read(ref _nextRound).Task;
        if (Interlocked.Exchange(ref _pending, 1) == 0) _wake.Release();
        return round;
    }

    /// <summary>Marks offsets as durable without a round (after a synchronous flush, or after truncation).</summary>
    public void Reset(long durableOffset) => Volatile.Write(ref _durableOffset, durableOffset);

    private async Task RunAsync()
    {
        while (true)
        {
            try
            {
                await _wake.WaitAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Volatile.Read(ref _nextRound).TrySetCanceled();
                return;
            }
            Volatile.Write(ref _pending, 0);
            var round = Interlocked.Exchange(ref _nextRound, NewRound());
            long end = _logEndOffset();
            long started = Stopwatch.GetTimestamp();
            try
            {
                _flushThrough(end);
                StorageMetrics.FsyncDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                Volatile.Write(ref _durableOffset, Math.Max(DurableOffset, end));
                Rounds++;
                round.TrySetResult();
            }
            catch (Exception ex)
            {
                // An fsync failure means the kernel may have dropped dirty pages: the writes of this round
                // cannot be promised, so their writers get the error (PostgreSQL's "fsyncgate" lesson).
                round.TrySetException(ex);
            }
        }
    }

    private static TaskCompletionSource NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        _wake.Dispose();
    }
}
