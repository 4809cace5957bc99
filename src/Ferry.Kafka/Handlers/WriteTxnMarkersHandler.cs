using Ferry.Broker.Security.Acls;
using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// WriteTxnMarkers (API 27, KIP-98): a transaction coordinator on another node asks this partition leader to commit
/// or abort a producer's transaction in the partitions it leads; each partition answers once its marker is committed.
/// Peers only: CLUSTER_ACTION on the cluster, as Kafka requires.
/// </summary>
public sealed class WriteTxnMarkersHandler(TransactionMarkerWriter markers, Authorizer authorizer) : KafkaHandler<WriteTxnMarkersRequest>
{
    public override short ApiKey => ApiKeys.WriteTxnMarkers;
    public override short MinVersion => 0;
    public override short MaxVersion => 1;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, WriteTxnMarkersRequest request)
    {
        bool allowed = authorizer.AllowedAsPeer(context);
        var response = new WriteTxnMarkersResponse();
        foreach (var marker in request.Markers)
        {
            var partitions = marker.Topics.SelectMany(t => t.PartitionIndexes.Select(p => new TransactionPartition(t.Name, p))).ToList();
            IReadOnlyList<(TransactionPartition Partition, MarkerError Error)> results = [];
            if (allowed)
            {
                // Not cancelled with the connection: a marker begun is carried out whoever waits for it.
                results = await markers.WriteAsync(new TransactionMarkerRequest(marker.ProducerId, marker.ProducerEpoch, marker.TransactionResult,
                    marker.CoordinatorEpoch, partitions)).ConfigureAwait(false);
            }
            var result = new WriteTxnMarkersResponse.WritableTxnMarkerResult { ProducerId = marker.ProducerId };
            for (int i = 0; i < partitions.Count; i++)
            {
                var tp = partitions[i];
                if (result.Topics.Count == 0 || result.Topics[^1].Name != tp.Topic)
                    result.Topics.Add(new WriteTxnMarkersResponse.WritableTxnMarkerTopicResult { Name = tp.Topic });
                result.Topics[^1].Partitions.Add(new WriteTxnMarkersResponse.WritableTxnMarkerPartitionResult
                {
                    PartitionIndex = tp.Partition,
                    ErrorCode = allowed ? ToErrorCode(results[i].Error) : ErrorCodes.ClusterAuthorizationFailed,
                });
            }
            response.Markers.Add(result);
        }
        return response;
    }

    private static short ToErrorCode(MarkerError error) => error switch
    {
        MarkerError.None => ErrorCodes.None,
        MarkerError.NotLeaderOrFollower => ErrorCodes.NotLeaderOrFollower,
        MarkerError.CoordinatorFenced => ErrorCodes.TransactionCoordinatorFenced,
        _ => ErrorCodes.NotEnoughReplicas,
    };
}
