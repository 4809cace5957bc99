using Ferry.Amqp.Connections;

namespace Ferry.Amqp.Tests.Connections;

public sealed class OutboundQueueTests
{
    private static Outbound Item(ulong n) => new(OutboundKind.Ack, 1, null, null, n, false);

    [Fact]
    public void Items_ComeOutInOrder_AcrossWrapAndGrowth()
    {
        var queue = new OutboundQueue();
        ulong next = 0, expected = 0;
        for (int round = 0; round < 50; round++)
        {
            for (int i = 0; i < round * 7; i++) Assert.True(queue.TryWrite(Item(next++)));
            for (int i = 0; i < round * 5; i++)
            {
                Assert.True(queue.TryRead(out var item));
                Assert.Equal(expected++, item.Tag);
            }
        }

        while (queue.TryRead(out var item)) Assert.Equal(expected++, item.Tag);
        Assert.Equal(next, expected);
    }

    [Fact]
    public async Task WaitToRead_CompletesOnWrite_AndAfterCompleteOnceDrained()
    {
        var queue = new OutboundQueue();
        var waiting = queue.WaitToReadAsync();
        Assert.False(waiting.IsCompleted);
        Assert.True(queue.TryWrite(Item(1)));
        Assert.True(await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));

        queue.Complete();
        Assert.False(queue.TryWrite(Item(2)));
        Assert.True(await queue.WaitToReadAsync());
        Assert.True(queue.TryRead(out var item));
        Assert.Equal(1UL, item.Tag);
        Assert.False(await queue.WaitToReadAsync());
    }

    [Fact]
    public async Task Complete_WakesAWaitingReader()
    {
        var queue = new OutboundQueue();
        var waiting = queue.WaitToReadAsync();
        queue.Complete();
        Assert.False(await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void SteadyWriteAndRead_AllocatesNothing()
    {
        var queue = new OutboundQueue();
        for (int i = 0; i < 1000; i++) queue.TryWrite(Item((ulong)i));
        while (queue.TryRead(out _)) { }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 100; round++)
        {
            for (int i = 0; i < 1000; i++) queue.TryWrite(Item((ulong)i));
            while (queue.TryRead(out _)) { }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
