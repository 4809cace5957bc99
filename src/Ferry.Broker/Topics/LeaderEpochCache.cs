using System.Globalization;
using System.Text;
using Ferry.Broker.Metadata;

namespace Ferry.Broker.Topics;

/// <summary>
/// Where each leader epoch of a partition starts in its log (Kafka's <c>LeaderEpochFileCache</c>, KIP-101): the
/// answer to OffsetForLeaderEpoch and the rule by which a new follower truncates its divergent tail. Kept in
/// <c>leader-epoch-checkpoint</c> in the partition's directory, in Kafka's format (version, count, then
/// "epoch start-offset" lines), rewritten durably whenever an epoch is added or cut.
/// </summary>
/// <remarks>
/// Changes come from the partition's append path (under its append lock) and from truncation; readers
/// (OffsetForLeaderEpoch) take <see cref="_lock"/>. The fast path of <see cref="Assign"/> is one volatile read:
/// an epoch changes once per leader election, not per batch.
/// </remarks>
public sealed class LeaderEpochCache
{
    public const string FileName = "leader-epoch-checkpoint";
    private const int FormatVersion = 0;

    private readonly Lock _lock = new();
    private readonly List<EpochEntry> _entries = [];
    private readonly string _path;
    private volatile int _latestEpoch = -1;

    private LeaderEpochCache(string path) => _path = path;

    /// <summary>The newest epoch with data in the log, or -1 when the log has none.</summary>
    public int LatestEpoch => _latestEpoch;

    /// <summary>
    /// Loads the checkpoint and fits it to the log as it is now (a crash may have cut the log's tail after the
    /// checkpoint was written). Data written before epochs were kept (no checkpoint, a non-empty log) is
    /// epoch 0 from the log start: every Ferry before this one led its partitions at epoch 0.
    /// </summary>
    public static LeaderEpochCache Open(string directory, long logStartOffset, long logEndOffset)
    {
        var cache = new LeaderEpochCache(Path.Combine(directory, FileName));
        var stored = DurableFile.ReadAllBytes(cache._path);
        if (stored is not null) cache.Parse(Encoding.ASCII.GetString(stored));
        else if (logEndOffset > logStartOffset) cache._entries.Add(new EpochEntry(0, logStartOffset));
        bool changed = stored is null && cache._entries.Count > 0;
        changed |= cache.RemoveFrom(logEndOffset);
        cache.Refresh();
        if (changed) cache.Write();
        return cache;
    }

    private void Parse(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length < 2 || lines[0] != "0" || !int.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count)
            || count != lines.Length - 2)
        {
            throw new InvalidDataException($"Malformed leader epoch checkpoint {_path}.");
        }
        for (int i = 2; i < lines.Length; i++)
        {
            var parts = lines[i].Split(' ');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int epoch)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long start))
            {
                throw new InvalidDataException($"Malformed leader epoch checkpoint {_path}, line {i + 1}.");
            }
            _entries.Add(new EpochEntry(epoch, start));
        }
    }

    /// <summary>Every (epoch, start offset), oldest first.</summary>
    public IReadOnlyList<EpochEntry> Entries
    {
        get
        {
            lock (_lock) return [.. _entries];
        }
    }

    /// <summary>
    /// Records that <paramref name="epoch"/> starts at <paramref name="startOffset"/>, if it is newer than the
    /// latest: called before appending a batch stamped with it. Older or equal epochs change nothing.
    /// </summary>
    public void Assign(int epoch, long startOffset)
    {
        if (epoch <= _latestEpoch) return;
        lock (_lock)
        {
            if (epoch <= _latestEpoch) return;
            // A later epoch's start can only be at or after the earlier ones' (they were appended before it).
            RemoveFrom(startOffset);
            _entries.Add(new EpochEntry(epoch, startOffset));
            Refresh();
            Write();
        }
    }

    /// <summary>
    /// Kafka's <c>endOffsetFor</c>: the largest epoch at or below <paramref name="requestedEpoch"/> and the
    /// offset where the next newer epoch starts (the log end for the latest epoch). An epoch older than all
    /// gets itself and the oldest epoch's start; a newer one than all, or an empty cache, (-1, -1).
    /// </summary>
    public (int Epoch, long EndOffset) EndOffsetFor(int requestedEpoch, long logEndOffset)
    {
        lock (_lock)
        {
            if (requestedEpoch < 0 || _entries.Count == 0) return (-1, -1);
            if (requestedEpoch == _entries[^1].Epoch) return (requestedEpoch, logEndOffset);
            int higher = _entries.FindIndex(e => e.Epoch > requestedEpoch);
            if (higher < 0) return (-1, -1);
            if (higher == 0) return (requestedEpoch, _entries[0].StartOffset);
            return (_entries[higher - 1].Epoch, _entries[higher].StartOffset);
        }
    }

    /// <summary>Cuts every epoch that starts at or past <paramref name="endOffset"/> (the log was truncated there).</summary>
    public void TruncateFromEnd(long endOffset)
    {
        lock (_lock)
        {
            if (!RemoveFrom(endOffset)) return;
            Refresh();
            Write();
        }
    }

    /// <summary>
    /// The log start moved to <paramref name="startOffset"/> (retention, DeleteRecords): epochs that ended before
    /// it go, and the oldest remaining one is moved up to start there.
    /// </summary>
    public void TruncateFromStart(long startOffset)
    {
        lock (_lock)
        {
            int drop = 0;
            while (drop + 1 < _entries.Count && _entries[drop + 1].StartOffset <= startOffset) drop++;
            bool changed = drop > 0;
            _entries.RemoveRange(0, drop);
            if (_entries.Count > 0 && _entries[0].StartOffset < startOffset)
            {
                _entries[0] = _entries[0] with { StartOffset = startOffset };
                changed = true;
            }
            if (changed) Write();
        }
    }

    private bool RemoveFrom(long endOffset)
    {
        int keep = _entries.Count;
        while (keep > 0 && _entries[keep - 1].StartOffset >= endOffset) keep--;
        if (keep == _entries.Count) return false;
        _entries.RemoveRange(keep, _entries.Count - keep);
        return true;
    }

    private void Refresh() => _latestEpoch = _entries.Count == 0 ? -1 : _entries[^1].Epoch;

    private void Write()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{FormatVersion}\n{_entries.Count}\n");
        foreach (var entry in _entries) text.Append(CultureInfo.InvariantCulture, $"{entry.Epoch} {entry.StartOffset}\n");
        DurableFile.WriteAllBytes(_path, Encoding.ASCII.GetBytes(text.ToString()));
    }
}

/// <summary>A leader epoch and the first offset written in it.</summary>
public readonly record struct EpochEntry(int Epoch, long StartOffset);
