using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Hosting;

/// <summary>
/// The buffers Kestrel receives into and writes from, in blocks of 64 KiB rather than its own 4 KiB.
/// </summary>
/// <remarks>
/// Kestrel's socket transport reads into one pool block per receive call. With 4 KiB blocks a 1 MiB produce
/// request costs 256 receive system calls and as many wake-ups of the connection's reader; with 64 KiB, 16.
/// Measured with 3 producers of 1 MiB batches: most of the broker's CPU was the kernel, much of it the
/// per-call cost of receives (bench/README.md). Blocks are pinned (sockets use them for native I/O) and kept
/// for reuse up to <see cref="MaxRetainedBlocks"/> (64 MiB); beyond that, returned blocks are left to the GC.
/// A fetch response is written whole before its flush (up to fetch.max.bytes, 48 MiB for the benchmark's
/// consumer), so a smaller cap made every large fetch allocate afresh: 256 blocks cost ~600 B per message
/// read back in the produce-only benchmark, 1024 blocks 16 B.
/// Kept blocks that a whole trimming period did not need are let go (<see cref="TrimUnused"/>): after a burst of
/// load the pool shrinks back to what the steady traffic uses, so the process's memory returns near idle.
/// </remarks>
internal sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;
    private const int MaxRetainedBlocks = 1024;

    private readonly ConcurrentQueue<Block> _free = new();
    private int _retained;
    /// <summary>The fewest blocks kept free at any moment since the last trim: those nobody needed all along.</summary>
    private int _fewestFreeSinceTrim;

    public override int MaxBufferSize => BlockSize;

    /// <summary>Bytes kept for reuse now.</summary>
    public long RetainedBytes => (long)Volatile.Read(ref _retained) * BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        if (_free.TryDequeue(out var block))
        {
            int left = Interlocked.Decrement(ref _retained);
            if (left < Volatile.Read(ref _fewestFreeSinceTrim)) Volatile.Write(ref _fewestFreeSinceTrim, left); // a lost race only trims less
            block.Reset();
            return block;
        }
        Volatile.Write(ref _fewestFreeSinceTrim, 0);
        return new Block(this, GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true));
    }

    /// <summary>
    /// Lets go of the kept blocks that stayed unused since the last call (the low-water mark of the free list), and
    /// returns the bytes released; the GC reclaims them.
    /// </summary>
    public long TrimUnused()
    {
        int unused = Interlocked.Exchange(ref _fewestFreeSinceTrim, int.MaxValue);
        int released = 0;
        while (released < unused && _free.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _retained);
            released++;
        }
        // The next period's low-water mark starts from what is kept now.
        Interlocked.CompareExchange(ref _fewestFreeSinceTrim, Volatile.Read(ref _retained), int.MaxValue);
        return (long)released * BlockSize;
    }

    /// <summary>Lets go of every kept block (the process is over its memory limit); returns the bytes released.</summary>
    public long ReleaseAll()
    {
        int released = 0;
        while (_free.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _retained);
            released++;
        }
        Volatile.Write(ref _fewestFreeSinceTrim, 0);
        return (long)released * BlockSize;
    }

    private void Return(Block block)
    {
        if (Interlocked.Increment(ref _retained) > MaxRetainedBlocks)
        {
            Interlocked.Decrement(ref _retained);
            return;
        }
        _free.Enqueue(block);
    }

    protected override void Dispose(bool disposing)
    {
        _free.Clear();
    }

    private sealed class Block(LargeBlockMemoryPool pool, byte[] array) : IMemoryOwner<byte>
    {
        private int _rented = 1;

        public Memory<byte> Memory => array;

        public void Reset() => _rented = 1;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _rented, 0) == 1) pool.Return(this);
        }
    }
}

/// <summary>Hands Kestrel a <see cref="LargeBlockMemoryPool"/> wherever it would create its own, and knows them all for trimming.</summary>
internal sealed class LargeBlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    private readonly ConcurrentBag<LargeBlockMemoryPool> _pools = [];

    public IEnumerable<LargeBlockMemoryPool> Pools => _pools;

    public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
    {
        var pool = new LargeBlockMemoryPool();
        _pools.Add(pool);
        return pool;
    }
}
