namespace Ferry.Storage;

public enum LogReadStatus
{
    Ok,
    /// <summary>Below the log start or beyond the log end: Kafka's OFFSET_OUT_OF_RANGE.</summary>
    OffsetOutOfRange,
}

/// <summary>A read's bytes (possibly none: a read at the log end is valid and empty) and the log's bounds then.</summary>
public readonly record struct LogReadResult(LogReadStatus Status, LogSlice Slice, long LogStartOffset, long LogEndOffset);
