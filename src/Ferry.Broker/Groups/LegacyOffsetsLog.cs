using Ferry.Broker.Topics;
using Ferry.Storage;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Groups;

/// <summary>
/// Releases before the replicated <c>__consumer_offsets</c> topic kept committed offsets in one log of their own,
/// <c>DATA/__consumer_offsets/</c>, in the same record format. A single node upgraded from one moves them into the
/// topic once, at start: the latest offset of each key is appended to the key's group's partition and made durable,
/// then the old log is deleted. A crash in between moves them again at the next start (before anything is served),
/// which loads to the same state.
/// </summary>
internal static partial class LegacyOffsetsLog
{
    public static void MigrateInto(string directory, Topic offsetsTopic, BrokerOptions broker, ILogger logger)
    {
        if (!Directory.Exists(directory)) return;
        var offsets = new Dictionary<OffsetKey, CommittedOffset>();
        long records = 0;
        var log = Log.Open(directory, broker.DefaultLogOptions with { RetentionMs = -1, RetentionBytes = -1 }, broker.Time, logger);
        try
        {
            log.ForEachBatch(log.LogStartOffset, batch => records += OffsetRecords.ReadBatch(batch, offsets, pending: []));
        }
        finally
        {
            log.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        long now = broker.Time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var byPartition in offsets.GroupBy(kv => OffsetsTopic.PartitionFor(kv.Key.Group, offsetsTopic.Partitions.Count)))
        {
            var partition = offsetsTopic.Partitions[byPartition.Key];
            var write = new OffsetsPartition(partition, partition.LeaderEpoch).Append(byPartition.Select(kv => (kv.Key, (CommittedOffset?)kv.Value)), now);
            if (write.Owner is not null) partition.WaitForDurableAsync(write.LastOffset + 1).GetAwaiter().GetResult();
        }
        Directory.Delete(directory, recursive: true);
        Migrated(logger, offsets.Count, records, OffsetsTopic.Name);
    }

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Moved {Offsets} committed offsets ({Records} records) of the earlier offsets log into {Topic}")]
    private static partial void Migrated(ILogger logger, int offsets, long records, string topic);
}
