namespace Ferry.Storage;

/// <summary>Receives one whole batch of a log (<see cref="Log.ForEachBatch"/>); the span is valid during the call only.</summary>
public delegate void BatchAction(ReadOnlySpan<byte> batch);
