using System.Buffers;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Ferry.Cluster.Controller;

namespace Ferry.Cluster.Raft;

/// <summary>
/// DotNext's side of the metadata log: each committed entry is one <see cref="MetadataRecord"/> (or a batch of them), applied to the
/// <see cref="MetadataImage"/> and then handed to <see cref="Applied"/> (which makes the node's topics match).
/// Every 100 entries the image is written as a snapshot, so a restart replays at most that many records.
/// </summary>
internal sealed class MetadataStateMachine(DirectoryInfo location, MetadataImage image) : SimpleStateMachine(location)
{
    private const long SnapshotEvery = 100;

    /// <summary>Called after each record that changed the image, on the applier (one at a time, in log order).</summary>
    public Func<MetadataRecord, ValueTask>? Applied { get; set; }

    /// <summary>Called after a snapshot replaced the image (start, or a follower installing the leader's snapshot).</summary>
    public Func<ValueTask>? Restored { get; set; }

    protected override async ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
    {
        if (!entry.TryGetPayload(out var payload)) return false;
        if (payload.IsEmpty) return false;
        var record = MetadataRecord.Deserialize(payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray());
        // A batch is published to readers at once, then its records take effect on this node one by one.
        var changed = record is { Type: MetadataRecordType.Batch, Records: { } records } ? image.Apply(records)
            : image.Apply(record) ? [record] : [];
        if (Applied is { } applied)
        {
            foreach (var done in changed) await applied(done).ConfigureAwait(false);
        }
        return entry.Index % SnapshotEvery == 0;
    }

    protected override ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token) => writer.Invoke(image.Serialize(), token);

    protected override async ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token)
    {
        var bytes = await File.ReadAllBytesAsync(snapshotFile.FullName, token).ConfigureAwait(false);
        image.Restore(bytes);
        if (Restored is { } restored) await restored().ConfigureAwait(false);
    }
}
