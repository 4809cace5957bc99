namespace Ferry.Storage;

public enum AppendError
{
    None,
    /// <summary>A batch failed its CRC, its framing or its magic: Kafka's CORRUPT_MESSAGE.</summary>
    CorruptBatch,
    /// <summary>A batch is larger than the log's limit: Kafka's MESSAGE_TOO_LARGE.</summary>
    BatchTooLarge,
    /// <summary>The input holds no batch, or trailing bytes that are not one: INVALID_RECORD.</summary>
    InvalidInput,
    /// <summary>A replicated batch does not start at the log end (<see cref="Log.AppendReplicated"/>).</summary>
    NonContiguous,
}

/// <summary>The outcome of an append: the offsets given to the batches, or why nothing was written.</summary>
public readonly record struct AppendResult(AppendError Error, long BaseOffset, long LastOffset, long LogAppendTime, int BatchCount)
{
    public bool Succeeded => Error == AppendError.None;

    public static AppendResult Failed(AppendError error) => new(error, -1, -1, -1, 0);
}
