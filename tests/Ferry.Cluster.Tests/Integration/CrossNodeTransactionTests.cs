using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Broker.Transactions;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Tests.Integration;
using Ferry.Storage.Records;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Transactions whose coordinator (the leader of the id's <c>__transaction_state</c> partition) is one node and whose
/// partitions are led by the others, on three real processes: every node names the same coordinator; a Confluent.Kafka
/// producer commits and aborts across them and a read_committed consumer sees exactly the committed records; and a
/// partition leader that is not the coordinator asks the coordinator (AddPartitionsToTxn verify_only, KIP-890) before
/// it takes a transactional batch, refusing one for a partition the transaction does not hold.
/// </summary>
public sealed class CrossNodeTransactionTests
{
    private const string Topic = "txn-spread";
    private const int Partitions = 3;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task CommitAndAbort_WithTheCoordinatorAndThePartitionLeadersOnDifferentNodes_ReadCommittedSeesExactlyTheCommitted()
    {
        await using var cluster = await StartAsync();
        var (transactionalId, coordinator, leaders) = await PlaceAsync(cluster, "spread-app");
        Assert.Contains(leaders, leader => leader != coordinator);

        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, TransactionalId = transactionalId, Acks = Acks.All,
        }).Build();
        producer.InitTransactions(Timeout);
        var committed = new List<string>();
        var all = new List<string>();
        foreach (var (name, commit) in new[] { ("a", true), ("b", false), ("c", true) })
        {
            producer.BeginTransaction();
            for (int i = 0; i < 3 * Partitions; i++)
            {
                string value = $"{name}-{i.ToString(CultureInfo.InvariantCulture)}";
                producer.Produce(new TopicPartition(Topic, i % Partitions), new Message<string, string> { Key = "k", Value = value });
                all.Add(value);
                if (commit) committed.Add(value);
            }
            producer.Flush(Timeout);
            if (commit) producer.CommitTransaction(Timeout);
            else producer.AbortTransaction(Timeout);
        }

        Assert.Equal(committed.Order(StringComparer.Ordinal), Clients.ReadToEnd(cluster.BootstrapServers, Topic, Partitions, IsolationLevel.ReadCommitted).Order(StringComparer.Ordinal));
        Assert.Equal(all.Order(StringComparer.Ordinal), Clients.ReadToEnd(cluster.BootstrapServers, Topic, Partitions, IsolationLevel.ReadUncommitted).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task TransactionalProduce_AtALeaderThatIsNotTheCoordinator_IsVerifiedWithTheCoordinator()
    {
        await using var cluster = await StartAsync();
        var (transactionalId, coordinator, leaders) = await PlaceAsync(cluster, "hanging-app");
        // Two partitions led by nodes that do not coordinate the id (one node may lead both).
        var remote = Enumerable.Range(0, Partitions).Where(p => leaders[p] != coordinator).ToList();
        Assert.True(remote.Count >= 1, $"every partition is led by the coordinator, node {coordinator}");
        int added = remote[0];
        int notAdded = Enumerable.Range(0, Partitions).First(p => p != added);

        using var toCoordinator = await RawKafkaClient.ConnectAsync(cluster.Node(coordinator).KafkaPort);
        var init = await toCoordinator.SendAsync<InitProducerIdResponse>(ApiKeys.InitProducerId, 3,
            new InitProducerIdRequest { TransactionalId = transactionalId, TransactionTimeoutMs = 60_000 });
        Assert.Equal(ErrorCodes.None, init.ErrorCode);
        using var toLeader = await RawKafkaClient.ConnectAsync(cluster.Node(leaders[added]).KafkaPort);
        using var toOtherLeader = await RawKafkaClient.ConnectAsync(cluster.Node(leaders[notAdded]).KafkaPort);

        // Nothing added yet: the leader asks the coordinator on another node, which has no such transaction.
        Assert.Equal(ErrorCodes.InvalidTxnState, await ProduceAsync(toLeader, transactionalId, init, added, sequence: 0));

        var add = await toCoordinator.SendAsync<AddPartitionsToTxnResponse>(ApiKeys.AddPartitionsToTxn, 3, new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = transactionalId,
            V3AndBelowProducerId = init.ProducerId,
            V3AndBelowProducerEpoch = init.ProducerEpoch,
            V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = Topic, Partitions = [added] }],
        });
        Assert.Equal(ErrorCodes.None, add.ResultsByTopicV3AndBelow.Single().ResultsByPartition.Single().PartitionErrorCode);
        Assert.Equal(ErrorCodes.None, await ProduceAsync(toLeader, transactionalId, init, added, sequence: 0));
        Assert.Equal(ErrorCodes.None, await ProduceAsync(toLeader, transactionalId, init, added, sequence: 1));
        // The positive answer was for that partition alone.
        Assert.Equal(ErrorCodes.InvalidTxnState, await ProduceAsync(toOtherLeader, transactionalId, init, notAdded, sequence: 0));

        // Once the transaction is aborted, a late batch of it finds no open transaction to join, here or at the coordinator.
        var end = await toCoordinator.SendAsync<EndTxnResponse>(ApiKeys.EndTxn, 3, new EndTxnRequest
        {
            TransactionalId = transactionalId, ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, Committed = false,
        });
        Assert.Equal(ErrorCodes.None, end.ErrorCode);
        Assert.Equal(ErrorCodes.InvalidTxnState, await ProduceAsync(toLeader, transactionalId, init, added, sequence: 2));
    }

    /// <summary>Three nodes and the topic, RF 3: its partitions' leaders spread over the nodes.</summary>
    private static async Task<ClusterHarness> StartAsync()
    {
        Librdkafka.EnsureLoaded();
        var cluster = await ClusterHarness.StartAsync(3);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = Partitions, ReplicationFactor = 3 }]);
        return cluster;
    }

    /// <summary>
    /// Waits until the topic and <c>__transaction_state</c> have leaders and full ISRs, picks the id's coordinator from
    /// metadata, and checks that every node's FindCoordinator names that node.
    /// </summary>
    private static async Task<(string TransactionalId, int Coordinator, int[] Leaders)> PlaceAsync(ClusterHarness cluster, string transactionalId)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        await cluster.WaitUntilAsync("the topics have leaders and full ISRs", () =>
        {
            try
            {
                var topics = admin.GetMetadata(Timeout).Topics;
                return Task.FromResult(new[] { Topic, TransactionStateTopic.Name }.All(name => topics.Any(t => t.Topic == name && t.Error.Code == ErrorCode.NoError
                    && t.Partitions.Count > 0 && t.Partitions.All(p => p.Leader > 0 && p.InSyncReplicas.Length == 3))));
            }
            catch (KafkaException)
            {
                return Task.FromResult(false);
            }
        }, TimeSpan.FromSeconds(120));
        var state = admin.GetMetadata(TransactionStateTopic.Name, Timeout).Topics[0].Partitions;
        int coordinator = state.Single(p => p.PartitionId == TransactionStateTopic.PartitionFor(transactionalId, state.Count)).Leader;
        int[] leaders = [.. admin.GetMetadata(Topic, Timeout).Topics[0].Partitions.OrderBy(p => p.PartitionId).Select(p => p.Leader)];
        foreach (var node in cluster.Nodes)
        {
            using var client = await RawKafkaClient.ConnectAsync(node.KafkaPort);
            var found = await client.SendAsync<FindCoordinatorResponse>(ApiKeys.FindCoordinator, 4,
                new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = [transactionalId] });
            Assert.Equal((ErrorCodes.None, coordinator), (found.Coordinators.Single().ErrorCode, found.Coordinators.Single().NodeId));
        }
        return (transactionalId, coordinator, leaders);
    }

    /// <summary>One transactional batch of one record, sent as the producer would after AddPartitionsToTxn; the partition's error code.</summary>
    private static async Task<short> ProduceAsync(RawKafkaClient client, string transactionalId, InitProducerIdResponse producer, int partition, int sequence)
    {
        var builder = new RecordBatchBuilder
        {
            ProducerId = producer.ProducerId, ProducerEpoch = producer.ProducerEpoch, BaseSequence = sequence, Attributes = RecordBatch.TransactionalFlag,
        };
        builder.Add("k"u8, "v"u8, 1000);
        var response = await client.SendAsync<ProduceResponse>(ApiKeys.Produce, 9, new ProduceRequest
        {
            TransactionalId = transactionalId,
            Acks = -1,
            TimeoutMs = 30_000,
            TopicData = [new ProduceRequest.TopicProduceData
            {
                Name = Topic,
                PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = builder.ToArray() }],
            }],
        });
        return response.Responses.Single().PartitionResponses.Single().ErrorCode;
    }
}
