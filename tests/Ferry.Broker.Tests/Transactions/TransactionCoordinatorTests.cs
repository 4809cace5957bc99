using Ferry.Broker.Cluster;
using Ferry.Broker.Groups;
using Ferry.Broker.Topics;
using Ferry.Broker.Transactions;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Broker.Tests.Transactions;

public sealed class TransactionCoordinatorTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "ferry-txn-" + Guid.NewGuid().ToString("N"));
    private BrokerOptions _options = null!;
    private TopicRegistry _topics = null!;
    private GroupCoordinator _groups = null!;

    public ValueTask InitializeAsync()
    {
        _options = new BrokerOptions { DataDirectory = _data };
        _topics = TopicRegistry.Open(_options, NullLoggerFactory.Instance);
        _groups = GroupCoordinator.Open(_options, new GroupOptions(), _topics, NullLoggerFactory.Instance);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _groups.DisposeAsync();
        await _topics.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private TransactionCoordinator OpenCoordinator()
    {
        var cluster = new SingleNodeCluster(_topics, _options, 1, "test");
        return TransactionCoordinator.Open(_options, new TransactionOptions { AbortTimedOutTransactionCleanupIntervalMs = 50 }, _topics, _groups,
            new ProducerIdAllocator(cluster), cluster, NullLoggerFactory.Instance);
    }

    [Fact]
    public async Task CommitDecidedBeforeACrash_GetsItsMarkersAtTheNextStart()
    {
        var partition = _topics.GetOrCreate("orders", 1)!.Partitions[0];
        var batch = new RecordBatchBuilder { ProducerId = 42, ProducerEpoch = 3, BaseSequence = 0, Attributes = RecordBatch.TransactionalFlag };
        batch.Add("k"u8, "v"u8, 1000);
        partition.Append(batch.ToArray());
        Assert.Equal(0, partition.LastStableOffset);

        // The coordinator logged PrepareCommit in the id's __transaction_state partition and died before writing any marker.
        _topics.Create(TransactionStateTopic.Name, TransactionStateTopic.DefaultPartitions, TransactionStateTopic.Configs);
        _topics.TryGet(TransactionStateTopic.Name, out var stateTopic);
        var statePartition = stateTopic.Partitions[TransactionStateTopic.PartitionFor("app", stateTopic.Partitions.Count)];
        await new TransactionStatePartition(statePartition, statePartition.LeaderEpoch).WriteAsync("app", new TransactionMetadata("app", 42, 3, 2, 60_000,
            TransactionState.PrepareCommit, new HashSet<TransactionPartition> { new("orders", 0) }, TransactionMetadata.NoGroups, 1, 1), 1);

        await using var coordinator = OpenCoordinator();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (coordinator.Describe("app")?.State != TransactionState.CompleteCommit)
        {
            Assert.True(DateTime.UtcNow < deadline, $"still {coordinator.Describe("app")?.State}");
            await Task.Delay(20);
        }
        Assert.Equal(partition.HighWatermark, partition.LastStableOffset);
        Assert.Equal(2, partition.HighWatermark);
        Assert.False(partition.Transactions.HasAborted);
    }

    [Fact]
    public async Task LogOfAnEarlierRelease_IsMovedIntoTheStateTopic_AndItsDecisionCompleted()
    {
        var partition = _topics.GetOrCreate("orders", 1)!.Partitions[0];
        var batch = new RecordBatchBuilder { ProducerId = 42, ProducerEpoch = 3, BaseSequence = 0, Attributes = RecordBatch.TransactionalFlag };
        batch.Add("k"u8, "v"u8, 1000);
        partition.Append(batch.ToArray());
        string legacy = Path.Combine(_data, TransactionStateTopic.Name);
        var log = Ferry.Storage.Log.Open(legacy, _options.DefaultLogOptions);
        log.Append(TransactionRecords.Build("other", new TransactionMetadata("other", 7, 0, -1, 60_000, TransactionState.CompleteCommit,
            TransactionMetadata.NoPartitions, TransactionMetadata.NoGroups, 1, 1), 1));
        log.Append(TransactionRecords.Build("app", new TransactionMetadata("app", 42, 3, 2, 60_000, TransactionState.PrepareAbort,
            new HashSet<TransactionPartition> { new("orders", 0) }, TransactionMetadata.NoGroups, 1, 1), 1));
        log.Flush();
        await log.DisposeAsync();

        await using var coordinator = OpenCoordinator();
        Assert.False(Directory.Exists(legacy));
        Assert.Equal(7, coordinator.Describe("other")?.ProducerId);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (coordinator.Describe("app")?.State != TransactionState.CompleteAbort)
        {
            Assert.True(DateTime.UtcNow < deadline, $"still {coordinator.Describe("app")?.State}");
            await Task.Delay(20);
        }
        Assert.True(partition.Transactions.HasAborted);
        Assert.Equal(partition.HighWatermark, partition.LastStableOffset);
    }

    [Fact]
    public async Task OpenTransaction_IsAbortedByTheNextProducerOfItsId_WhichIsFencedFromTheOld()
    {
        await using var coordinator = OpenCoordinator();
        _topics.GetOrCreate("orders", 1);
        var (error, producerId, epoch) = await coordinator.InitProducerIdAsync("app", 60_000, -1, -1);
        Assert.Equal(TransactionError.None, error);
        var added = await coordinator.AddPartitionsAsync("app", producerId, epoch, [new TransactionPartition("orders", 0)]);
        Assert.All(added, a => Assert.Equal(TransactionError.None, a.Error));

        var (_, sameId, newEpoch) = await coordinator.InitProducerIdAsync("app", 60_000, -1, -1);
        Assert.Equal(producerId, sameId);
        Assert.True(newEpoch > epoch);
        Assert.Equal(TransactionState.Empty, coordinator.Describe("app")!.State);
        Assert.Equal(TransactionError.ProducerFenced, await coordinator.EndTransactionAsync("app", producerId, epoch, commit: true));
        Assert.Equal(TransactionError.InvalidTransactionTimeout, (await coordinator.InitProducerIdAsync("app", 1_000_000, -1, -1)).Error);
    }
}
