using Ferry.Amqp.Framing;

namespace Ferry.Amqp.Tests.Framing;

public sealed class ShortStrCacheTests
{
    [Fact]
    public void Get_RepeatedName_IsTheSameString_WithoutAllocating()
    {
        var cache = new ShortStrCache();
        string first = cache.Get("orders.created"u8);
        Assert.Same(first, cache.Get("orders.created"u8));
        Assert.Equal("orders.créé", cache.Get("orders.créé"u8));
        Assert.Same(string.Empty, cache.Get([]));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) cache.Get("orders.created"u8);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
