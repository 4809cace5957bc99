using Microsoft.Extensions.Logging;

namespace Ferry.Storage.Compaction;

/// <summary>
/// The background cleaner of compacted logs (Kafka's <c>LogCleaner</c> with one thread): it picks the dirtiest log
/// whose dirty ratio has reached its min.cleanable.dirty.ratio (or whose oldest dirty record is past
/// max.compaction.lag.ms), cleans it (<see cref="LogCompactor"/>), and looks again; with nothing to clean it waits
/// log.cleaner.backoff.ms. One offset map of a fixed size serves every pass, so memory stays bounded.
/// </summary>
/// <remarks>
/// Appends and reads never wait for it: it reads closed segments, writes new files beside them, and takes the log's
/// lock only for the rename that swaps a cleaned segment in.
/// </remarks>
public sealed partial class LogCleaner
{
    private readonly CleanerOptions _options;
    private readonly Func<IEnumerable<Log>> _logs;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _passLock = new();
    private readonly HashSet<string> _failed = [];
    private LogCompactor? _compactor;
    private CancellationToken _stopping;

    public LogCleaner(CleanerOptions options, Func<IEnumerable<Log>> logs, TimeProvider time, ILogger logger)
    {
        _options = options;
        _logs = logs;
        _time = time;
        _logger = logger;
    }

    /// <summary>Completed cleaning passes.</summary>
    public long Passes { get; private set; }

    /// <summary>Bytes read and written by every pass (throughput).</summary>
    public long BytesRead => _compactor?.BytesRead ?? 0;
    public long BytesWritten => _compactor?.BytesWritten ?? 0;

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled, on a thread of its own.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Task.Factory.StartNew(async () =>
    {
        _stopping = cancellationToken;
        while (!cancellationToken.IsCancellationRequested)
        {
            bool cleaned;
            try
            {
                cleaned = CleanOnce();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                CleanerFailed(_logger, ex);
                cleaned = false;
            }
            if (!cleaned)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(_options.BackoffMs), _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    /// <summary>Cleans the dirtiest log that is due, if any; true if one was cleaned.</summary>
    public bool CleanOnce()
    {
        lock (_passLock)
        {
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            Log? best = null;
            double bestRatio = -1;
            foreach (var log in _logs())
            {
                if (!log.Options.Compact || log.IsClosed || _failed.Contains(log.Directory)) continue;
                var cleanable = LogCompactor.Measure(log, log.SegmentsSnapshot, now);
                if (cleanable.DirtyBytes == 0) continue;
                bool due = cleanable.PastMaxLag || cleanable.DirtyRatio >= log.Options.MinCleanableDirtyRatio;
                if (due && cleanable.DirtyRatio > bestRatio)
                {
                    best = log;
                    bestRatio = cleanable.DirtyRatio;
                }
            }
            if (best is null) return false;
            _compactor ??= new LogCompactor(new OffsetMap(_options.DedupeBufferBytes), new Throttler(_options.IoMaxBytesPerSecond));
            _compactor.Cancellation = _stopping;
            long sizeBefore = best.SizeInBytes;
            try
            {
                if (!_compactor.Clean(best, now)) return false;
            }
            catch (Exception ex) when (ex is SegmentRetiredException or OperationCanceledException)
            {
                return false;
            }
            catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException)
            {
                // A batch the cleaner cannot read, or a map too small: leave the log as it is, keep cleaning the others.
                _failed.Add(best.Directory);
                LogFailed(_logger, best.Directory, ex);
                return false;
            }
            Passes++;
            Cleaned(_logger, best.Directory, sizeBefore, best.SizeInBytes, bestRatio);
            return true;
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Cleaned log {Directory}: {Before} bytes to {After} (dirty ratio was {Ratio:F2})")]
    private static partial void Cleaned(ILogger logger, string directory, long before, long after, double ratio);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "The log cleaner stopped cleaning {Directory}")]
    private static partial void LogFailed(ILogger logger, string directory, Exception exception);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "A cleaning pass failed; it is tried again later")]
    private static partial void CleanerFailed(ILogger logger, Exception exception);
}
