namespace Ferry.Storage.Indexes;

/// <summary>
/// One sparse index point: the batch whose base offset is <c>SegmentBase + RelativeOffset</c> starts at
/// file <see cref="Position"/>, and every batch before it in the segment has a max timestamp below or equal
/// to <see cref="MaxTimestampBefore"/> (-1 when there is none).
/// </summary>
/// <remarks>
/// A rolled segment ends with a sentinel entry: the segment's next offset, its file size and its max
/// timestamp. Its presence tells a loader that the index covers the whole file.
/// </remarks>
public readonly record struct IndexEntry(int RelativeOffset, int Position, long MaxTimestampBefore);
