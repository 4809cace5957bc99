using System.Buffers;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Ferry.Cluster.Controller;

namespace Ferry.Cluster.Raft;

/// <summary>
/// DotNext's side of the metadata log: each committed entry is one <see cref="MetadataRecord"/> (or a batch of them), handed
/// to the <see cref="MetadataApplier"/> (image, then the node's topics), and a snapshot restores it there too.
/// Every 100 entries the image is written as a snapshot, so a restart replays at most that many records.
/// </summary>
internal sealed class MetadataStateMachine(DirectoryInfo location, MetadataApplier applier) : SimpleStateMachine(location)
{
    private const long SnapshotEvery = 100;

    protected override async ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
    {
        // An entry without payload (each new term's first) still moves the applied index on: broker-only nodes
        // fetching from this voter wait for the index the controller answered with.
        var record = entry.TryGetPayload(out var payload) && !payload.IsEmpty
            ? MetadataRecord.Deserialize(payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray())
            : null;
        await applier.ApplyAsync(entry.Index, record).ConfigureAwait(false);
        if (record is null) return false;
        return entry.Index % SnapshotEvery == 0;
    }

    protected override ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token) => writer.Invoke(applier.Image.Serialize(), token);

    protected override async ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token)
    {
        var bytes = await File.ReadAllBytesAsync(snapshotFile.FullName, token).ConfigureAwait(false);
        await applier.RestoreAsync(bytes, index: null).ConfigureAwait(false);
    }
}
