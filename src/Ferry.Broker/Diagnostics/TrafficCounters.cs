namespace Ferry.Broker.Diagnostics;

/// <summary>
/// Messages and bytes in and out of one partition or queue since start: four longs bumped once per batch
/// or delivery, no tags and no allocation. The host reads them from observable counters at scrape time and
/// samples them for the rates in the admin API, so the hot path pays one interlocked add and nothing else.
/// </summary>
public sealed class TrafficCounters
{
    private long _messagesIn;
    private long _bytesIn;
    private long _messagesOut;
    private long _bytesOut;

    public long MessagesIn => Interlocked.Read(ref _messagesIn);
    public long BytesIn => Interlocked.Read(ref _bytesIn);
    public long MessagesOut => Interlocked.Read(ref _messagesOut);
    public long BytesOut => Interlocked.Read(ref _bytesOut);

    public void AddIn(long messages, long bytes)
    {
        Interlocked.Add(ref _messagesIn, messages);
        Interlocked.Add(ref _bytesIn, bytes);
    }

    public void AddOut(long messages, long bytes)
    {
        Interlocked.Add(ref _messagesOut, messages);
        Interlocked.Add(ref _bytesOut, bytes);
    }
}
