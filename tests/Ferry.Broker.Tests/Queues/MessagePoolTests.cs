using Ferry.Broker.Queues;

namespace Ferry.Broker.Tests.Queues;

public sealed class MessagePoolTests
{
    [Fact]
    public void SizeClasses_FitEveryLength_WithAtMostAQuarterUnused()
    {
        for (int length = 1; length <= MessagePool.MaxPooledLength; length++)
        {
            int size = MessagePool.SizeOf(MessagePool.ClassOf(length));
            Assert.True(size >= length, $"{length} in {size}");
            Assert.True(length <= 64 || size <= length * 1.25 + 1, $"{length} in {size}");
        }

        Assert.Equal(MessagePool.MaxPooledLength, MessagePool.SizeOf(MessagePool.ClassOf(MessagePool.MaxPooledLength)));
    }

    [Fact]
    public void LastRelease_ReturnsTheMessage_ForReuse()
    {
        var pool = new MessagePool(1 << 20);
        var message = pool.Rent("x", "key", 2, 100, MessageInfo.Default);
        message.Retain();
        message.Release();
        Assert.Equal(1, pool.Outstanding);
        message.Release();
        Assert.Equal(0, pool.Outstanding);

        var again = pool.Rent("", "other", 0, 105, MessageInfo.Default);
        Assert.Same(message, again);
        Assert.Equal(("", "other", 105), (again.Exchange, again.RoutingKey, again.BodySize));
    }

    [Fact]
    public void ReleaseOrRetainAfterTheLastRelease_Throws()
    {
        var pool = new MessagePool(1 << 20);
        var message = pool.Rent("", "q", 0, 10, MessageInfo.Default);
        message.Release();
        Assert.Throws<InvalidOperationException>(message.Release);
        var other = new AmqpMessage("", "q", new byte[4], 0, MessageInfo.Default);
        other.Release();
        Assert.Throws<InvalidOperationException>(other.Retain);
    }

    [Fact]
    public void IdleBytes_AreBounded()
    {
        var pool = new MessagePool(1000);
        var messages = Enumerable.Range(0, 4).Select(_ => pool.Rent("", "q", 0, 400, MessageInfo.Default)).ToList();
        foreach (var m in messages) m.Release();
        // 448-byte buffers: two fit under the limit, the other two are left to the garbage collector.
        var reused = Enumerable.Range(0, 4).Select(_ => pool.Rent("", "q", 0, 400, MessageInfo.Default)).ToList();
        Assert.Equal(2, reused.Count(messages.Contains));
    }
}
