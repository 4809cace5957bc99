using System.Globalization;
using System.Text;
using Ferry.Storage.Durability;
using Ferry.Storage.Segments;

namespace Ferry.Storage.Compaction;

/// <summary>
/// Puts a cleaned segment in the place of the segments it was made from, crash-safely. The cleaned files are
/// written beside the log as <c>BASE.log.cleaned</c> (and <c>.index.cleaned</c>, <c>.timeindex.cleaned</c>) and
/// fsync'd; then a swap marker naming the replaced base offsets is written atomically (AtomicFile: the commit
/// point); then the replaced files are deleted and the cleaned ones renamed over the first; then the marker goes.
/// </summary>
/// <remarks>
/// <see cref="Recover"/> runs before a log opens: with a marker, the swap is finished (each step is idempotent:
/// deleting what is still there, renaming what is still cleaned); without one, cleaned files are the leftovers of a
/// clean that never committed and are deleted, the original segments being whole. Either way a SIGKILL at any
/// moment leaves every record the log held readable, either in the original segments or in the cleaned one.
/// </remarks>
internal static class CleanedSegmentSwap
{
    public const string Suffix = ".cleaned";
    private const string MarkerName = "cleaner-swap";

    public static string Cleaned(string path) => path + Suffix;

    /// <summary>Commits the swap on disk (the caller holds the log's write lock and has fsync'd the cleaned files).</summary>
    public static void Commit(string directory, IReadOnlyList<long> replacedBases)
    {
        string marker = Path.Combine(directory, MarkerName);
        AtomicFile.Write(marker, Encoding.ASCII.GetBytes(string.Join(' ', replacedBases.Select(b => b.ToString(CultureInfo.InvariantCulture)))));
        Finish(directory, replacedBases);
        File.Delete(marker);
        // The marker's removal must be durable before another clean writes cleaned files that a stale marker
        // would otherwise rename into place half-written.
        FileSync.SyncDirectory(directory);
    }

    /// <summary>Completes a committed swap and deletes the files of an uncommitted one.</summary>
    public static void Recover(string directory)
    {
        string marker = Path.Combine(directory, MarkerName);
        if (File.Exists(marker))
        {
            long[]? bases = null;
            try
            {
                bases = File.ReadAllText(marker).Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Select(b => long.Parse(b, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
            }
            catch (FormatException)
            {
                // AtomicFile never leaves a torn marker; an unreadable one is treated as absent.
            }
            if (bases is { Length: > 0 }) Finish(directory, bases);
            File.Delete(marker);
        }
        foreach (var leftover in Directory.EnumerateFiles(directory, "*" + Suffix)) File.Delete(leftover);
        File.Delete(marker + ".tmp");
        FileSync.SyncDirectory(directory);
    }

    private static void Finish(string directory, IReadOnlyList<long> bases)
    {
        for (int i = 1; i < bases.Count; i++)
        {
            File.Delete(SegmentFileNames.Data(directory, bases[i]));
            File.Delete(SegmentFileNames.OffsetIndex(directory, bases[i]));
            File.Delete(SegmentFileNames.TimeIndex(directory, bases[i]));
        }
        // The indexes first, the data last: a data file renamed into place always finds its index there too.
        foreach (var path in new[] { SegmentFileNames.OffsetIndex(directory, bases[0]), SegmentFileNames.TimeIndex(directory, bases[0]),
                     SegmentFileNames.Data(directory, bases[0]) })
        {
            if (File.Exists(Cleaned(path))) File.Move(Cleaned(path), path, overwrite: true);
        }
        FileSync.SyncDirectory(directory);
    }
}
