using Ferry.Broker.Groups;
using Ferry.Broker.Topics;

namespace Ferry.Broker.Transactions;

/// <summary>
/// Writes transaction markers into the partitions this node leads (the partition leader's side of WriteTxnMarkers):
/// a control batch into a data partition, waited on until committed; for a partition of <c>__consumer_offsets</c>,
/// the end of the producer's pending transactional offsets of every group there (Kafka's group coordinator
/// <c>handleTxnCompletion</c>). The transaction coordinator calls it for partitions led here, the WriteTxnMarkers
/// handler for those another node's coordinator sends.
/// </summary>
public sealed class TransactionMarkerWriter(TopicRegistry topics, GroupCoordinator groups, TimeProvider time)
{
    public async Task<IReadOnlyList<(TransactionPartition Partition, MarkerError Error)>> WriteAsync(TransactionMarkerRequest request)
    {
        var results = new (TransactionPartition, MarkerError)[request.Partitions.Count];
        var waits = new Task<MarkerError>[request.Partitions.Count];
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        for (int i = 0; i < request.Partitions.Count; i++)
        {
            var tp = request.Partitions[i];
            waits[i] = string.Equals(tp.Topic, OffsetsTopic.Name, StringComparison.Ordinal)
                ? CompleteOffsetsAsync(tp.Partition, request)
                : WriteDataMarkerAsync(tp, request, now);
        }
        for (int i = 0; i < waits.Length; i++) results[i] = (request.Partitions[i], await waits[i].ConfigureAwait(false));
        return results;
    }

    private async Task<MarkerError> WriteDataMarkerAsync(TransactionPartition tp, TransactionMarkerRequest request, long now)
    {
        // A deleted topic has nothing left to mark.
        if (!topics.TryGet(tp.Topic, out var topic) || topic.TryGetPartition(tp.Partition) is not { } partition) return MarkerError.None;
        var written = partition.WriteTxnMarker(request.ProducerId, request.ProducerEpoch, request.Commit, request.CoordinatorEpoch, now);
        switch (written.Error)
        {
            case PartitionAppendError.None:
                break;
            case PartitionAppendError.InvalidProducerEpoch:
                return MarkerError.None; // a newer epoch already ended this producer's transactions here: nothing of this one is open
            case PartitionAppendError.NotLeaderOrFollower:
                return MarkerError.NotLeaderOrFollower;
            case PartitionAppendError.TransactionCoordinatorFenced:
                return MarkerError.CoordinatorFenced;
            default:
                return MarkerError.Retriable;
        }
        try
        {
            await partition.WaitForCommitAsync(written.LastOffset).ConfigureAwait(false);
            return MarkerError.None;
        }
        catch (PartitionCommitException e)
        {
            return e.Error == PartitionAppendError.NotLeaderOrFollower ? MarkerError.NotLeaderOrFollower : MarkerError.Retriable;
        }
        catch (ObjectDisposedException)
        {
            return MarkerError.Retriable;
        }
    }

    private async Task<MarkerError> CompleteOffsetsAsync(int offsetsPartition, TransactionMarkerRequest request)
    {
        var error = await groups.CompleteTransactionInPartitionAsync(offsetsPartition, request.ProducerId, request.Commit).ConfigureAwait(false);
        return error switch
        {
            GroupError.None => MarkerError.None,
            GroupError.NotCoordinator => MarkerError.NotLeaderOrFollower,
            _ => MarkerError.Retriable,
        };
    }
}
