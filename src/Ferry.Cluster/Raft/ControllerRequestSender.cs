using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Cluster.Controller;
using Microsoft.Extensions.Logging;

namespace Ferry.Cluster.Raft;

/// <summary>
/// <see cref="IMetadataController"/> as controller requests: each call becomes a <see cref="ControllerRequest"/>
/// sent where the quorum leader is, retried while none is known, and answered once this node has applied the
/// change. A voter and a broker-only node differ only in how one attempt is sent and how applying is awaited.
/// </summary>
public abstract partial class ControllerRequestSender : IMetadataController
{
    private static readonly TimeSpan RequestDeadline = TimeSpan.FromSeconds(15);

    private volatile bool _shuttingDown;

    /// <summary>This node's settings.</summary>
    protected abstract ClusterOptions Options { get; }

    /// <summary>The committed metadata this node has applied.</summary>
    public abstract MetadataImage Image { get; }

    /// <summary>What applies it here (the security stores follow its applied records).</summary>
    internal abstract MetadataApplier Applier { get; }

    protected abstract ILogger Logger { get; }

    /// <summary>True once a controlled shutdown began: the node no longer registers again once fenced.</summary>
    protected bool ShuttingDown => _shuttingDown;

    /// <summary>Cancelled when this node stops.</summary>
    protected abstract CancellationToken Stopping { get; }

    /// <summary>One attempt: the reply, or null (no leader known, or it did not answer).</summary>
    protected abstract Task<ControllerReply?> SendOnceAsync(ControllerRequest request, CancellationToken token);

    /// <summary>Returns once this node has applied the log up to <paramref name="index"/>.</summary>
    protected abstract Task WaitForAppliedAsync(long index, CancellationToken token);

    public async ValueTask<TopicResult> CreateTopicAsync(TopicSpec spec, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.CreateTopic, Name = spec.Name, Partitions = spec.Partitions, ReplicationFactor = spec.ReplicationFactor,
            Assignments = spec.Assignments?.Select(a => a.ToList()).ToList(), Configs = spec.Configs?.ToDictionary(), ValidateOnly = spec.ValidateOnly,
        }, cancellationToken).ConfigureAwait(false);
        return new TopicResult((TopicError)reply.Error, reply.Message);
    }

    public async ValueTask<TopicResult> DeleteTopicAsync(string name, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest { Operation = ControllerOperation.DeleteTopic, Name = name }, cancellationToken).ConfigureAwait(false);
        return new TopicResult((TopicError)reply.Error, reply.Message);
    }

    public async ValueTask<TopicResult> CreatePartitionsAsync(string name, int newTotal, bool validateOnly, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.CreatePartitions, Name = name, Partitions = newTotal, ValidateOnly = validateOnly,
        }, cancellationToken).ConfigureAwait(false);
        return new TopicResult((TopicError)reply.Error, reply.Message);
    }

    public async ValueTask<TopicResult> AlterConfigsAsync(string name, IReadOnlyList<(string Name, string? Value)> changes, bool replaceAll,
        bool validateOnly, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.AlterConfigs, Name = name, Changes = changes.Select(c => new ConfigChange(c.Name, c.Value)).ToList(),
            ReplaceAll = replaceAll, ValidateOnly = validateOnly,
        }, cancellationToken).ConfigureAwait(false);
        return new TopicResult((TopicError)reply.Error, reply.Message);
    }

    public async ValueTask<ProducerIdBlock> AllocateProducerIdBlockAsync(CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest { Operation = ControllerOperation.AllocateProducerIds }, cancellationToken).ConfigureAwait(false);
        if (reply.ProducerIdCount <= 0) throw new InvalidOperationException(reply.Message ?? "No producer-id block was allocated.");
        return new ProducerIdBlock(reply.ProducerIdFirst, reply.ProducerIdCount);
    }

    public async ValueTask<AlterPartitionResult> AlterPartitionAsync(AlterPartitionRequest request, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.AlterPartition, Name = request.Topic, Partition = request.Partition, LeaderId = request.LeaderId,
            LeaderEpoch = request.LeaderEpoch, PartitionEpoch = request.PartitionEpoch, NewIsr = [.. request.NewIsr],
        }, cancellationToken).ConfigureAwait(false);
        return new AlterPartitionResult((AlterPartitionError)reply.Error, reply.State);
    }

    public async ValueTask<TopicResult> ReassignPartitionAsync(string topic, int partition, IReadOnlyList<int>? targetReplicas,
        CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.ReassignPartition, Name = topic, Partition = partition, Replicas = targetReplicas?.ToList(),
        }, cancellationToken).ConfigureAwait(false);
        return new TopicResult((TopicError)reply.Error, reply.Message);
    }

    /// <summary>
    /// Runs a request on the quorum leader and waits until this node has applied the result, so that the caller sees
    /// its own change. Retries while no leader is known, up to <see cref="RequestDeadline"/>.
    /// </summary>
    protected internal async Task<ControllerReply> ExecuteAsync(ControllerRequest request, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Stopping);
        deadline.CancelAfter(RequestDeadline);
        var token = deadline.Token;
        try
        {
            while (true)
            {
                var reply = await SendOnceAsync(request, token).ConfigureAwait(false);
                if (reply is { NotLeader: false })
                {
                    if (reply.AppliedIndex > 0) await WaitForAppliedAsync(reply.AppliedIndex, token).ConfigureAwait(false);
                    return reply;
                }
                await Task.Delay(100, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Unavailable(request);
        }
    }

    /// <summary>
    /// Kafka's controlled shutdown: before this node stops, the controller fences it, which moves each partition it
    /// leads to another in-sync replica and takes it out of every ISR; returns once this node has applied that (it
    /// then answers NOT_LEADER_OR_FOLLOWER, and clients move on at once), or after <paramref name="timeout"/>.
    /// </summary>
    public async Task ShutDownAsync(TimeSpan timeout)
    {
        _shuttingDown = true; // no re-registration once fenced
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            var reply = await ExecuteAsync(new ControllerRequest { Operation = ControllerOperation.ControlledShutdown, NodeId = Options.NodeId },
                deadline.Token).ConfigureAwait(false);
            ControlledShutdown(Logger, Options.NodeId, reply.Error == 0 ? "leaderships moved" : reply.Message ?? "refused");
        }
        catch (OperationCanceledException)
        {
            ControlledShutdown(Logger, Options.NodeId, "no controller answered in time");
        }
    }

    /// <summary>True when this node must (re-)register: not registered yet, fenced, or registered with other addresses.</summary>
    protected bool NeedsRegistration(MetadataImage image) => !_shuttingDown && (
        !image.Nodes.TryGetValue(Options.NodeId, out var self) || self.Fenced || self.KafkaHost != Options.KafkaHost
        || self.KafkaPort != Options.KafkaPort || self.KafkaSecurityProtocol != Options.KafkaSecurityProtocol || self.HttpEndPoint != Options.HttpEndPoint);

    /// <summary>The RegisterNode request for this node (KRaft's BrokerRegistration): its addresses and which process asks.</summary>
    protected ControllerRequest Registration(Guid incarnation) => new()
    {
        Operation = ControllerOperation.RegisterNode, NodeId = Options.NodeId, KafkaHost = Options.KafkaHost, KafkaPort = Options.KafkaPort,
        KafkaSecurityProtocol = Options.KafkaSecurityProtocol, HttpEndPoint = Options.HttpEndPoint, Incarnation = incarnation,
    };

    private static ControllerReply Unavailable(ControllerRequest request) => new()
    {
        Error = request.Operation == ControllerOperation.AlterPartition ? (int)AlterPartitionError.NotController : (int)TopicError.InvalidConfig,
        Message = "No metadata controller is reachable (no quorum); try again.",
        Unavailable = true,
    };

    [LoggerMessage(EventId = 9008, Level = LogLevel.Information, Message = "Controlled shutdown of node {NodeId}: {Outcome}")]
    private static partial void ControlledShutdown(ILogger logger, int nodeId, string outcome);
}
