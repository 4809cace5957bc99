using Ferry.Broker.Cluster;
using Ferry.Broker.Groups;
using Ferry.Broker.Transactions;

namespace Ferry.Broker.Topics;

/// <summary>The broker's own topics, which only their coordinators write and nobody deletes (Metadata's <c>is_internal</c>).</summary>
public static class InternalTopics
{
    public static bool IsInternal(string topic) =>
        string.Equals(topic, OffsetsTopic.Name, StringComparison.Ordinal) || string.Equals(topic, TransactionStateTopic.Name, StringComparison.Ordinal)
        || Queues.Quorum.QuorumQueueCluster.IsQuorumTopic(topic);

    /// <summary>
    /// Has the controller create an internal topic until it exists (a cluster node starts before the quorum may have
    /// a leader); <paramref name="waiting"/> hears why each refused attempt was refused. Returns quietly when stopping.
    /// </summary>
    public static async Task EnsureCreatedAsync(TopicRegistry topics, IMetadataController controller, TopicSpec spec, Action<string?> waiting,
        CancellationToken stop)
    {
        try
        {
            while (!topics.TryGet(spec.Name, out _))
            {
                var result = await controller.CreateTopicAsync(spec, stop).ConfigureAwait(false);
                if (result.Succeeded || result.Error == TopicError.TopicAlreadyExists) break;
                waiting(result.Message);
                await Task.Delay(500, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
