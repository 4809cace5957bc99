using Ferry.Broker.Topics;
using Ferry.Storage;
using Microsoft.Extensions.Logging;

namespace Ferry.Cluster.Replication;

/// <summary>
/// A follower's copy loop for one partition: first cut any divergent tail by leader epoch (KIP-101/KIP-279:
/// OffsetForLeaderEpoch for the follower's latest epoch, never the high watermark), then fetch from the log
/// end, append the leader's batches as they are, make them durable by this node's fsync policy, and only then
/// fetch again: the next fetch offset tells the leader these offsets are here, durably, so the leader's
/// high watermark (and acks=all) never counts bytes a power cut could take.
/// </summary>
internal sealed partial class ReplicaFetcher : IAsyncDisposable
{
    /// <summary>How long a follower goes without a successful fetch before it warns (well inside the ISR lag bound).</summary>
    private const long StallReportMs = 5_000;

    private readonly Partition _partition;
    private readonly int _localId;
    private readonly int _leaderId;
    private readonly int _leaderEpoch;
    private readonly IReplicaTransport _transport;
    private readonly ReplicationOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _lastProgressMs;
    private ReplicaError _lastError;
    private bool _stallReported;

    public ReplicaFetcher(Partition partition, int localId, int leaderId, int leaderEpoch, IReplicaTransport transport,
        ReplicationOptions options, ILogger logger)
    {
        _partition = partition;
        _localId = localId;
        _leaderId = leaderId;
        _leaderEpoch = leaderEpoch;
        _transport = transport;
        _options = options;
        _logger = logger;
        _lastProgressMs = options.NowMs();
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public int LeaderId => _leaderId;
    public int LeaderEpoch => _leaderEpoch;

    private async Task RunAsync(CancellationToken stop)
    {
        try
        {
            bool truncated = false;
            while (!stop.IsCancellationRequested)
            {
                if (!truncated)
                {
                    truncated = await TruncateByEpochAsync(stop).ConfigureAwait(false);
                    if (!truncated)
                    {
                        ReportIfStalled();
                        await Task.Delay(_options.FetchBackoff, stop).ConfigureAwait(false);
                        continue;
                    }
                }
                var outcome = await FetchOnceAsync(stop).ConfigureAwait(false);
                if (outcome == FetchOutcome.Progress) MadeProgress();
                else if (outcome == FetchOutcome.Diverged) truncated = false;
                else
                {
                    ReportIfStalled();
                    await Task.Delay(_options.FetchBackoff, stop).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped: the partition's role changed or the node is closing.
        }
        catch (ObjectDisposedException) when (stop.IsCancellationRequested)
        {
            // The log closed under us at shutdown.
        }
        catch (Exception ex)
        {
            FetcherFailed(_logger, ex, _partition.Topic, _partition.Index, _leaderId);
        }
    }

    /// <summary>
    /// Asks the leader where this replica's latest epoch ends in its log and truncates there (or where this
    /// replica's own copy of the leader's answered epoch ends, if smaller). False: ask again later.
    /// </summary>
    private async Task<bool> TruncateByEpochAsync(CancellationToken stop)
    {
        int localEpoch = _partition.Epochs.LatestEpoch;
        if (localEpoch < 0) return true; // nothing here to diverge
        var answer = await _transport.EndOffsetForEpochAsync(_leaderId,
            new EpochEndRequest(_localId, _partition.Topic, _partition.Index, _leaderEpoch, localEpoch), stop).ConfigureAwait(false);
        if (answer.Error != ReplicaError.None)
        {
            _lastError = answer.Error;
            return false;
        }
        long logEnd = _partition.LogEndOffset;
        long target;
        if (answer.EndOffset < 0) target = _partition.LogStartOffset; // the leader knows none of our epochs
        else if (answer.LeaderEpoch == localEpoch) target = Math.Min(answer.EndOffset, logEnd);
        else target = Math.Min(answer.EndOffset, _partition.EndOffsetForEpoch(answer.LeaderEpoch).EndOffset is var own and >= 0 ? own : logEnd);
        if (target < logEnd)
        {
            Truncated(_logger, _partition.Topic, _partition.Index, logEnd, target, _leaderId, _leaderEpoch);
            _partition.TruncateTo(target);
        }
        return true;
    }

    private enum FetchOutcome { Progress, Failed, Diverged }

    private async Task<FetchOutcome> FetchOnceAsync(CancellationToken stop)
    {
        long fetchOffset = _partition.LogEndOffset;
        using var response = await _transport.FetchAsync(_leaderId, new ReplicaFetchRequest(_localId, _partition.Topic, _partition.Index,
            _leaderEpoch, fetchOffset, _options.FetchMaxBytes, (int)_options.FetchMaxWait.TotalMilliseconds), stop).ConfigureAwait(false);
        switch (response.Error)
        {
            case ReplicaError.None:
                break;
            case ReplicaError.OffsetOutOfRange when fetchOffset < response.LogStartOffset:
                // Everything here is older than the leader's log start: start over there.
                _partition.TruncateFullyAndStartAt(response.LogStartOffset);
                return FetchOutcome.Progress;
            case ReplicaError.OffsetOutOfRange:
                return FetchOutcome.Diverged;
            default:
                _lastError = response.Error;
                return FetchOutcome.Failed;
        }
        if (!response.Records.IsEmpty)
        {
            // The transport's buffer is ours: the follower writes the leader's bytes as they are.
            var records = System.Runtime.InteropServices.MemoryMarshal.AsMemory(response.Records).Span;
            var appended = _partition.AppendAsFollower(records);
            if (!appended.Succeeded)
            {
                if (appended.Error == AppendError.NonContiguous) return FetchOutcome.Diverged;
                AppendFailed(_logger, _partition.Topic, _partition.Index, appended.Error);
                return FetchOutcome.Failed;
            }
            await _partition.WaitForDurableAsync(_partition.LogEndOffset).ConfigureAwait(false);
        }
        _partition.UpdateFromLeader(response.HighWatermark, response.LogStartOffset);
        return FetchOutcome.Progress;
    }

    /// <summary>
    /// A follower that cannot fetch holds its leader's high watermark (and every acks=all write) back until it leaves
    /// the ISR, replica.lag.time.max.ms later; a warning when it stalls says why, so that wait is explained in the log.
    /// </summary>
    private void ReportIfStalled()
    {
        long stalledMs = _options.NowMs() - _lastProgressMs;
        if (_stallReported || stalledMs < StallReportMs) return;
        _stallReported = true;
        FetchStalled(_logger, _partition.Topic, _partition.Index, _leaderId, _leaderEpoch, stalledMs, _lastError);
    }

    private void MadeProgress()
    {
        _lastProgressMs = _options.NowMs();
        if (!_stallReported) return;
        _stallReported = false;
        FetchResumed(_logger, _partition.Topic, _partition.Index, _leaderId, _leaderEpoch);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Partition {Topic}-{Partition}: truncated divergent tail from {LogEnd} to {Offset} following leader {LeaderId} at epoch {LeaderEpoch}")]
    private static partial void Truncated(ILogger logger, string topic, int partition, long logEnd, long offset, int leaderId, int leaderEpoch);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Partition {Topic}-{Partition}: a batch from the leader was refused ({Error})")]
    private static partial void AppendFailed(ILogger logger, string topic, int partition, AppendError error);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Warning, Message = "Partition {Topic}-{Partition}: no fetch from leader {LeaderId} at epoch {LeaderEpoch} succeeded for {Milliseconds} ms (last error: {Error})")]
    private static partial void FetchStalled(ILogger logger, string topic, int partition, int leaderId, int leaderEpoch, long milliseconds, ReplicaError error);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Information, Message = "Partition {Topic}-{Partition}: fetching from leader {LeaderId} at epoch {LeaderEpoch} again")]
    private static partial void FetchResumed(ILogger logger, string topic, int partition, int leaderId, int leaderEpoch);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Error, Message = "Partition {Topic}-{Partition}: the fetcher from leader {LeaderId} stopped")]
    private static partial void FetcherFailed(ILogger logger, Exception exception, string topic, int partition, int leaderId);
}
