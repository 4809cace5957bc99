using Ferry.Broker.Cluster;
using Ferry.Broker.Transactions;
using Ferry.Kafka;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Peers;

/// <summary>
/// The transaction coordinator's markers to partition leaders on other nodes, as Kafka sends them: WriteTxnMarkers
/// (API 27, v1) on the leader's Kafka listener, over the <see cref="KafkaPeerPool"/> (so that one transaction's wait
/// for a slow partition does not hold up others).
/// </summary>
internal sealed class KafkaTransactionMarkerChannel(IClusterView cluster, PeerCredentials? credentials) : ITransactionMarkerChannel, IDisposable
{
    private const short Version = 1;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);
    private readonly KafkaPeerPool _peers = new(cluster, "ferry-txn-markers", credentials);

    public async Task<IReadOnlyList<(TransactionPartition Partition, MarkerError Error)>> WriteMarkersAsync(int nodeId, TransactionMarkerRequest request,
        CancellationToken cancellationToken)
    {
        var marker = new WriteTxnMarkersRequest.WritableTxnMarker
        {
            ProducerId = request.ProducerId,
            ProducerEpoch = request.ProducerEpoch,
            TransactionResult = request.Commit,
            CoordinatorEpoch = request.CoordinatorEpoch,
        };
        foreach (var topic in request.Partitions.GroupBy(p => p.Topic))
            marker.Topics.Add(new WriteTxnMarkersRequest.WritableTxnMarkerTopic { Name = topic.Key, PartitionIndexes = topic.Select(p => p.Partition).ToList() });
        if (await _peers.TrySendAsync<WriteTxnMarkersResponse>(nodeId, ApiKeys.WriteTxnMarkers, Version,
            new WriteTxnMarkersRequest { Markers = [marker] }, RequestTimeout, cancellationToken).ConfigureAwait(false) is not { } response)
            return All(request, MarkerError.Retriable);
        var errors = new Dictionary<TransactionPartition, short>();
        foreach (var topic in response.Markers.SelectMany(m => m.Topics))
        {
            foreach (var partition in topic.Partitions) errors[new TransactionPartition(topic.Name, partition.PartitionIndex)] = partition.ErrorCode;
        }
        return request.Partitions.Select(tp => (tp, errors.TryGetValue(tp, out short code) ? ToMarkerError(code) : MarkerError.Retriable)).ToList();
    }

    private static List<(TransactionPartition, MarkerError)> All(TransactionMarkerRequest request, MarkerError error) =>
        request.Partitions.Select(tp => (tp, error)).ToList();

    private static MarkerError ToMarkerError(short code) => code switch
    {
        ErrorCodes.None => MarkerError.None,
        ErrorCodes.NotLeaderOrFollower or ErrorCodes.UnknownTopicOrPartition => MarkerError.NotLeaderOrFollower,
        ErrorCodes.TransactionCoordinatorFenced => MarkerError.CoordinatorFenced,
        _ => MarkerError.Retriable,
    };

    public void Dispose() => _peers.Dispose();
}
