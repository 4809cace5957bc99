namespace Ferry.Kafka.Server;

/// <summary>
/// Keeps one connection's Produce appends in request order when a request must wait before appending (KIP-890: a
/// transactional batch whose coordinator is on another node is verified there first). Every Produce behind a waiting
/// one on the connection waits its turn too, as Kafka keeps a connection's requests in order, so an idempotent
/// producer's batches reach each partition in sequence order.
/// </summary>
/// <remarks>Only the connection's read loop touches it (handlers run up to their first await there), so it needs no lock.</remarks>
public sealed class ProduceAppendOrder
{
    private Task _last = Task.CompletedTask;

    /// <summary>True when no earlier Produce of the connection is still waiting to append: this one may append now.</summary>
    public bool IsIdle => _last.IsCompleted;

    /// <summary>
    /// Takes the next turn: <paramref name="previous"/> completes when the earlier waiting Produce has appended; complete
    /// the returned source once this one has (appended or given up), so that the next may go.
    /// </summary>
    public TaskCompletionSource Defer(out Task previous)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        previous = _last;
        _last = done.Task;
        return done;
    }
}
