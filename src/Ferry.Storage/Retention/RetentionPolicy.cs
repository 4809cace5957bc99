using Ferry.Storage.Segments;

namespace Ferry.Storage.Retention;

/// <summary>
/// Which segments retention may delete: from the oldest, while a segment's newest batch is older than
/// retention.ms or the log without it would still be at least retention.bytes, stopping at the first that
/// must stay (so the log start only ever moves forward over whole segments). Never the active segment.
/// </summary>
public static class RetentionPolicy
{
    public static int CountDeletable(IReadOnlyList<LogSegment> segments, LogOptions options, long nowMs)
    {
        // cleanup.policy=compact alone: the cleaner decides what goes, never age or size.
        if (!options.Delete) return 0;
        long total = 0;
        foreach (var segment in segments) total += segment.Size;
        int count = 0;
        for (int i = 0; i < segments.Count - 1; i++)
        {
            var segment = segments[i];
            bool expired = options.RetentionMs >= 0 && segment.MaxTimestamp >= 0 && nowMs - segment.MaxTimestamp > options.RetentionMs;
            bool overSize = options.RetentionBytes >= 0 && total - segment.Size >= options.RetentionBytes;
            if (!expired && !overSize) break;
            total -= segment.Size;
            count++;
        }
        return count;
    }
}
