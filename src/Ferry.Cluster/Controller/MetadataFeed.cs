using System.Text.Json.Serialization;

namespace Ferry.Cluster.Controller;

/// <summary>One committed metadata log entry and its index in the voters' Raft log.</summary>
public sealed record IndexedMetadataRecord(long Index, MetadataRecord Record);

/// <summary>
/// A voter's answer to a broker-only node fetching committed metadata (KRaft brokers fetch the metadata log): the
/// entries after the index it asked for, in commit order, or, when the voter no longer holds them all, the whole
/// image as of <see cref="AppliedIndex"/>; and who the voter takes for the controller.
/// </summary>
public sealed class MetadataFeedReply
{
    public required string ClusterId { get; init; }
    public int ControllerId { get; init; }
    /// <summary>The index the asker has applied once it applied this reply.</summary>
    public long AppliedIndex { get; init; }
    public List<IndexedMetadataRecord> Records { get; init; } = [];
    /// <summary><see cref="MetadataImage.Serialize"/> as of <see cref="AppliedIndex"/>; null when <see cref="Records"/> follow on from the asker's index.</summary>
    public byte[]? Snapshot { get; init; }
    /// <summary>True when more entries follow than fitted (the asker asks again at once).</summary>
    public bool More { get; init; }
}

/// <summary>
/// The last applied entries on a voter, so that a broker-only node a little behind gets exactly the records it
/// missed; one further behind (or behind a restart of the voter) gets a snapshot. Bounded: <see cref="Capacity"/>
/// entries. Used under the applier's lock.
/// </summary>
internal sealed class RecentMetadataRecords
{
    public const int Capacity = 1024;
    private readonly IndexedMetadataRecord[] _ring = new IndexedMetadataRecord[Capacity];
    private int _start;
    private int _count;

    /// <summary>Every entry after this index is held; -1: unknown (nothing applied since a snapshot replaced the image).</summary>
    public long Floor { get; private set; } = -1;

    /// <summary>Notes an applied entry (<paramref name="record"/> null: one without metadata, such as a new term's first entry).</summary>
    public void Add(long index, MetadataRecord? record)
    {
        if (Floor < 0) Floor = index - 1;
        if (record is null) return;
        if (_count == Capacity)
        {
            Floor = _ring[_start].Index;
            _start = (_start + 1) % Capacity;
            _count--;
        }
        _ring[(_start + _count) % Capacity] = new IndexedMetadataRecord(index, record);
        _count++;
    }

    /// <summary>A snapshot replaced the image: what was held no longer follows on from it.</summary>
    public void Clear(long snapshotIndex)
    {
        _start = 0;
        _count = 0;
        Array.Clear(_ring);
        Floor = snapshotIndex;
    }

    /// <summary>The entries after <paramref name="after"/>, at most <paramref name="max"/>; false when some of them are no longer held.</summary>
    public bool TryRead(long after, int max, out List<IndexedMetadataRecord> records, out bool more)
    {
        records = [];
        more = false;
        if (Floor < 0 || after < Floor) return false;
        for (int i = 0; i < _count; i++)
        {
            var entry = _ring[(_start + i) % Capacity];
            if (entry.Index <= after) continue;
            if (records.Count == max)
            {
                more = true;
                break;
            }
            records.Add(entry);
        }
        return true;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(MetadataFeedReply))]
public sealed partial class MetadataFeedJsonContext : JsonSerializerContext;
