namespace Ferry.Broker.Topics;

/// <summary>
/// Wakes readers that wait for new data (Fetch long-polls): each append completes the current generation's
/// task and starts a new one. A new task is only allocated when someone waited on the old one, so appends
/// with nobody waiting cost one volatile read.
/// </summary>
public sealed class AppendSignal
{
    private TaskCompletionSource? _waiters;

    /// <summary>A task that completes at the next append after this call.</summary>
    public Task NextAppendAsync()
    {
        var current = Volatile.Read(ref _waiters);
        if (current is not null) return current.Task;
        var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (Interlocked.CompareExchange(ref _waiters, fresh, null) ?? fresh).Task;
    }

    public void Notify()
    {
        if (Volatile.Read(ref _waiters) is null) return;
        Interlocked.Exchange(ref _waiters, null)?.TrySetResult();
    }
}
