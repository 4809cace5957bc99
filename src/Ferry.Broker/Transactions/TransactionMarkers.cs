namespace Ferry.Broker.Transactions;

/// <summary>
/// The markers of one transaction for the partitions one node leads (Kafka's WriteTxnMarkers entry): commit or abort
/// <see cref="ProducerId"/>'s open transaction there, from a coordinator at <see cref="CoordinatorEpoch"/>.
/// </summary>
public sealed record TransactionMarkerRequest(long ProducerId, short ProducerEpoch, bool Commit, int CoordinatorEpoch, IReadOnlyList<TransactionPartition> Partitions);

/// <summary>How writing a marker into one partition went.</summary>
public enum MarkerError
{
    None,
    /// <summary>The node does not lead the partition (now): ask the leader the cluster view names next.</summary>
    NotLeaderOrFollower,
    /// <summary>The partition's leader could not take it now (its ISR is short, it is loading, it is unreachable): retry.</summary>
    Retriable,
    /// <summary>A coordinator of a newer epoch already wrote a marker for the producer there: this coordinator is a zombie.</summary>
    CoordinatorFenced,
}

/// <summary>
/// Sends markers to the partition leaders on other nodes (Kafka's WriteTxnMarkers, API 27, from the transaction
/// coordinator to each leader). Broker owns the interface; the host implements it over the peers' Kafka listeners.
/// A single node has none: every partition is led here.
/// </summary>
public interface ITransactionMarkerChannel
{
    /// <summary>One result per partition of the request; an unreachable node answers <see cref="MarkerError.Retriable"/> for all.</summary>
    Task<IReadOnlyList<(TransactionPartition Partition, MarkerError Error)>> WriteMarkersAsync(int nodeId, TransactionMarkerRequest request,
        CancellationToken cancellationToken);
}
