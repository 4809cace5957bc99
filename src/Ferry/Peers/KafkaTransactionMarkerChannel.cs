using System.Collections.Concurrent;
using System.Net.Sockets;
using Ferry.Broker.Cluster;
using Ferry.Broker.Transactions;
using Ferry.Kafka;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Peers;

/// <summary>
/// The transaction coordinator's markers to partition leaders on other nodes, as Kafka sends them: WriteTxnMarkers
/// (API 27, v1) on the leader's Kafka listener at the address the cluster view advertises. A few connections per
/// node, each one request at a time, so that one transaction's wait for a slow partition does not hold up others.
/// </summary>
internal sealed class KafkaTransactionMarkerChannel(IClusterView cluster, PeerCredentials? credentials) : ITransactionMarkerChannel, IDisposable
{
    private const short Version = 1;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);
    private readonly ConcurrentDictionary<int, ConcurrentBag<KafkaPeerConnection>> _idle = new();

    public async Task<IReadOnlyList<(TransactionPartition Partition, MarkerError Error)>> WriteMarkersAsync(int nodeId, TransactionMarkerRequest request,
        CancellationToken cancellationToken)
    {
        if (PeerLink.To(cluster, nodeId) is not { } link) return All(request, MarkerError.Retriable);
        var marker = new WriteTxnMarkersRequest.WritableTxnMarker
        {
            ProducerId = request.ProducerId,
            ProducerEpoch = request.ProducerEpoch,
            TransactionResult = request.Commit,
            CoordinatorEpoch = request.CoordinatorEpoch,
        };
        foreach (var topic in request.Partitions.GroupBy(p => p.Topic))
            marker.Topics.Add(new WriteTxnMarkersRequest.WritableTxnMarkerTopic { Name = topic.Key, PartitionIndexes = topic.Select(p => p.Partition).ToList() });
        var pool = _idle.GetOrAdd(nodeId, _ => []);
        var connection = pool.TryTake(out var idle) ? idle : new KafkaPeerConnection("ferry-txn-markers", credentials);
        WriteTxnMarkersResponse response;
        try
        {
            response = await connection.SendAsync<WriteTxnMarkersResponse>(link, ApiKeys.WriteTxnMarkers, Version,
                new WriteTxnMarkersRequest { Markers = [marker] }, RequestTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or TimeoutException or KafkaProtocolException
            or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            connection.Dispose();
            return All(request, MarkerError.Retriable);
        }
        pool.Add(connection);
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

    public void Dispose()
    {
        foreach (var pool in _idle.Values)
        {
            while (pool.TryTake(out var connection)) connection.Dispose();
        }
    }
}
