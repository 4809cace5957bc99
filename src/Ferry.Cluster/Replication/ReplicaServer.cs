using Ferry.Broker.Topics;
using Ferry.Storage;

namespace Ferry.Cluster.Replication;

/// <summary>
/// The leader's side of replication: answers followers' fetches (recording how far each follower has got,
/// which moves the high watermark) and their OffsetForLeaderEpoch, from this node's partitions. Every
/// transport ends here.
/// </summary>
public sealed class ReplicaServer(TopicRegistry topics, ReplicationOptions options)
{
    /// <summary>
    /// Whole batches from the follower's fetch offset up to the log end; waits up to the request's max wait for
    /// new data when there is none (woken by the append, never by polling).
    /// </summary>
    public async ValueTask<ReplicaFetchResponse> FetchAsync(ReplicaFetchRequest request, CancellationToken cancellationToken)
    {
        if (Find(request.Topic, request.Partition) is not { } partition) return ReplicaFetchResponse.Failed(ReplicaError.UnknownPartition);
        long deadline = options.NowMs() + Math.Max(0, request.MaxWaitMs);
        while (true)
        {
            if (ToError(partition.CheckLeaderEpoch(request.CurrentLeaderEpoch)) is var refused && refused != ReplicaError.None)
                return ReplicaFetchResponse.Failed(refused);
            // Take the signal before reading, so that an append between the read and the wait still wakes us.
            var appended = partition.Appended.NextAppendAsync();
            var read = partition.ReadAsReplica(request.ReplicaId, request.FetchOffset, request.MaxBytes, options.NowMs());
            using (var slice = read.Slice)
            {
                if (read.Status == LogReadStatus.OffsetOutOfRange)
                    return new ReplicaFetchResponse(ReplicaError.OffsetOutOfRange, partition.HighWatermark, read.LogStartOffset, read.LogEndOffset, ReadOnlyMemory<byte>.Empty);
                long remaining = deadline - options.NowMs();
                if (!slice.IsEmpty || remaining <= 0)
                {
                    var records = slice.IsEmpty ? [] : new byte[slice.Length];
                    slice.CopyTo(records);
                    return new ReplicaFetchResponse(ReplicaError.None, partition.HighWatermark, read.LogStartOffset, read.LogEndOffset, records);
                }
                try
                {
                    await appended.WaitAsync(TimeSpan.FromMilliseconds(remaining), cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // The wait ran out: read once more and answer with whatever there is.
                    deadline = options.NowMs();
                }
            }
        }
    }

    public EpochEndResponse EndOffsetForEpoch(EpochEndRequest request)
    {
        if (Find(request.Topic, request.Partition) is not { } partition) return new EpochEndResponse(ReplicaError.UnknownPartition, -1, -1);
        if (ToError(partition.CheckLeaderEpoch(request.CurrentLeaderEpoch)) is var refused && refused != ReplicaError.None)
            return new EpochEndResponse(refused, -1, -1);
        var (epoch, endOffset) = partition.EndOffsetForEpoch(request.LeaderEpoch);
        return new EpochEndResponse(ReplicaError.None, epoch, endOffset);
    }

    private Partition? Find(string topic, int partition) => topics.TryGet(topic, out var found) ? found.TryGetPartition(partition) : null;

    private static ReplicaError ToError(EpochCheck check) => check switch
    {
        EpochCheck.Ok => ReplicaError.None,
        EpochCheck.Fenced => ReplicaError.FencedLeaderEpoch,
        EpochCheck.Unknown => ReplicaError.UnknownLeaderEpoch,
        _ => ReplicaError.NotLeader,
    };
}
