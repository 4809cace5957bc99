using Ferry.Broker.Topics;
using Ferry.Storage;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Transactions;

/// <summary>
/// Releases before the replicated <c>__transaction_state</c> topic kept transaction states in one log of their own,
/// <c>DATA/__transaction_state/</c>, in the same record format. A single node upgraded from one moves them into the
/// topic once, at start: the last state of each id is appended to its partition and made durable, then the old log
/// is deleted. A crash in between moves them again at the next start, which loads to the same state.
/// </summary>
internal static partial class LegacyTransactionLog
{
    public static void MigrateInto(string directory, Topic stateTopic, BrokerOptions broker, ILogger logger)
    {
        if (!Directory.Exists(directory)) return;
        var states = new Dictionary<string, TransactionMetadata>(StringComparer.Ordinal);
        long records = 0;
        var log = Log.Open(directory, broker.DefaultLogOptions with { RetentionMs = -1, RetentionBytes = -1 }, broker.Time, logger);
        try
        {
            log.ForEachBatch(log.LogStartOffset, batch => records += TransactionRecords.ReadBatch(batch, states));
        }
        finally
        {
            log.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        long now = broker.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var writes = new List<Task>();
        foreach (var (id, state) in states)
        {
            var partition = stateTopic.Partitions[TransactionStateTopic.PartitionFor(id, stateTopic.Partitions.Count)];
            writes.Add(new TransactionStatePartition(partition, partition.LeaderEpoch).WriteAsync(id, state, now));
        }
        Task.WhenAll(writes).GetAwaiter().GetResult();
        Directory.Delete(directory, recursive: true);
        Migrated(logger, states.Count, records, TransactionStateTopic.Name);
    }

    [LoggerMessage(EventId = 2402, Level = LogLevel.Information, Message = "Moved {Transactions} transactional ids ({Records} records) of the earlier transaction log into {Topic}")]
    private static partial void Migrated(ILogger logger, int transactions, long records, string topic);
}
