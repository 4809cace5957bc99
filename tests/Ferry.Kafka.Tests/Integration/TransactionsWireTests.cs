using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Storage.Records;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// Transaction APIs no client library here sends (the admin APIs of KIP-664) and the partition leader's check of
/// KIP-890, on the raw wire, around a transaction a real Confluent.Kafka producer keeps open.
/// </summary>
public sealed class TransactionsWireTests : IAsyncLifetime
{
    private FerryServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await FerryServer.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task DescribeTransactions_ListTransactions_DescribeProducers_ShowAnOpenTransaction()
    {
        using (var admin = Clients.Admin(_server))
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "txn-admin", NumPartitions = 2, ReplicationFactor = 1 }]);
        using var producer = Clients.Producer(_server, c => c.TransactionalId = "txn-admin-app");
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        producer.BeginTransaction();
        producer.Produce(new TopicPartition("txn-admin", 1), new Message<string, string> { Key = "k", Value = "v" });
        producer.Flush(TimeSpan.FromSeconds(30));

        using var client = await RawKafkaClient.ConnectAsync(_server.KafkaPort);
        var described = await client.SendAsync<DescribeTransactionsResponse>(ApiKeys.DescribeTransactions, 0,
            new DescribeTransactionsRequest { TransactionalIds = ["txn-admin-app", "nobody"] });
        var state = described.TransactionStates[0];
        Assert.Equal(ErrorCodes.None, state.ErrorCode);
        Assert.Equal("Ongoing", state.TransactionState);
        Assert.Equal("txn-admin", state.Topics.Single().Topic);
        Assert.Equal([1], state.Topics.Single().Partitions);
        Assert.True(state.ProducerId >= 0);
        Assert.Equal(ErrorCodes.TransactionalIdNotFound, described.TransactionStates[1].ErrorCode);

        var listed = await client.SendAsync<ListTransactionsResponse>(ApiKeys.ListTransactions, 1,
            new ListTransactionsRequest { StateFilters = ["Ongoing", "Bogus"] });
        Assert.Equal(["Bogus"], listed.UnknownStateFilters);
        Assert.Equal((state.ProducerId, "Ongoing"), (listed.TransactionStates.Single().ProducerId, listed.TransactionStates.Single().TransactionState));
        var none = await client.SendAsync<ListTransactionsResponse>(ApiKeys.ListTransactions, 1,
            new ListTransactionsRequest { StateFilters = ["CompleteAbort"] });
        Assert.Empty(none.TransactionStates);

        var producers = await client.SendAsync<DescribeProducersResponse>(ApiKeys.DescribeProducers, 0, new DescribeProducersRequest
        {
            Topics = [new DescribeProducersRequest.TopicRequest { Name = "txn-admin", PartitionIndexes = [1] }],
        });
        var active = producers.Topics.Single().Partitions.Single().ActiveProducers.Single();
        Assert.Equal(state.ProducerId, active.ProducerId);
        Assert.Equal(0, active.CurrentTxnStartOffset);

        producer.CommitTransaction(TimeSpan.FromSeconds(30));
        var after = await client.SendAsync<DescribeTransactionsResponse>(ApiKeys.DescribeTransactions, 0,
            new DescribeTransactionsRequest { TransactionalIds = ["txn-admin-app"] });
        Assert.Equal("CompleteCommit", after.TransactionStates.Single().TransactionState);
    }

    [Fact]
    public async Task TransactionalProduce_ToAPartitionNotAddedToTheTransaction_IsRefused()
    {
        using (var admin = Clients.Admin(_server))
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "txn-hanging", NumPartitions = 1, ReplicationFactor = 1 }]);
        using var client = await RawKafkaClient.ConnectAsync(_server.KafkaPort);
        var init = await client.SendAsync<InitProducerIdResponse>(ApiKeys.InitProducerId, 3,
            new InitProducerIdRequest { TransactionalId = "txn-hanging-app", TransactionTimeoutMs = 60_000 });
        Assert.Equal(ErrorCodes.None, init.ErrorCode);

        // No AddPartitionsToTxn first: a late or stray transactional batch must not open a transaction that would
        // hold the partition's last stable offset back forever (KIP-890).
        var builder = new RecordBatchBuilder { ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, BaseSequence = 0, Attributes = RecordBatch.TransactionalFlag };
        builder.Add("k"u8, "v"u8, 1000);
        var produce = new ProduceRequest
        {
            TransactionalId = "txn-hanging-app",
            Acks = -1,
            TimeoutMs = 30_000,
            TopicData = [new ProduceRequest.TopicProduceData
            {
                Name = "txn-hanging",
                PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = builder.ToArray() }],
            }],
        };
        var refused = await client.SendAsync<ProduceResponse>(ApiKeys.Produce, 9, produce);
        Assert.Equal(ErrorCodes.InvalidTxnState, refused.Responses.Single().PartitionResponses.Single().ErrorCode);

        var added = await client.SendAsync<AddPartitionsToTxnResponse>(ApiKeys.AddPartitionsToTxn, 3, new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = "txn-hanging-app",
            V3AndBelowProducerId = init.ProducerId,
            V3AndBelowProducerEpoch = init.ProducerEpoch,
            V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = "txn-hanging", Partitions = [0] }],
        });
        Assert.Equal(ErrorCodes.None, added.ResultsByTopicV3AndBelow.Single().ResultsByPartition.Single().PartitionErrorCode);
        var accepted = await client.SendAsync<ProduceResponse>(ApiKeys.Produce, 9, produce);
        Assert.Equal(ErrorCodes.None, accepted.Responses.Single().PartitionResponses.Single().ErrorCode);

        // v4+ (brokers asking the coordinator): verify_only checks without adding.
        var verified = await client.SendAsync<AddPartitionsToTxnResponse>(ApiKeys.AddPartitionsToTxn, 4, new AddPartitionsToTxnRequest
        {
            Transactions = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTransaction
            {
                TransactionalId = "txn-hanging-app",
                ProducerId = init.ProducerId,
                ProducerEpoch = init.ProducerEpoch,
                VerifyOnly = true,
                Topics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = "txn-hanging", Partitions = [0, 7] }],
            }],
        });
        var results = verified.ResultsByTransaction.Single().TopicResults.Single().ResultsByPartition;
        Assert.Equal(ErrorCodes.None, results.Single(r => r.PartitionIndex == 0).PartitionErrorCode);
        Assert.Equal(ErrorCodes.InvalidTxnState, results.Single(r => r.PartitionIndex == 7).PartitionErrorCode);
    }
}
