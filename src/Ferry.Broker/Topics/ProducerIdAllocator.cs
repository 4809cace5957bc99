using Ferry.Broker.Cluster;

namespace Ferry.Broker.Topics;

/// <summary>
/// Hands out producer ids for idempotent producers, never the same one twice in the cluster, even across crashes:
/// ids come from blocks the controller reserves durably (<see cref="IMetadataController.AllocateProducerIdBlockAsync"/>)
/// before any id in them is given out. A crash wastes at most the rest of a block.
/// </summary>
public sealed class ProducerIdAllocator(IMetadataController controller)
{
    private readonly Lock _lock = new();
    private Task<ProducerIdBlock>? _refill;
    private long _next;
    private long _end;

    /// <summary>An id from the current block; when it runs out, one caller's request for the next block is shared by all.</summary>
    public async ValueTask<long> NextAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task<ProducerIdBlock> refill;
            lock (_lock)
            {
                if (_next < _end) return _next++;
                refill = _refill ??= controller.AllocateProducerIdBlockAsync(CancellationToken.None).AsTask();
            }
            ProducerIdBlock block;
            try
            {
                block = await refill.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch when (refill.IsFaulted || refill.IsCanceled)
            {
                lock (_lock)
                {
                    if (_refill == refill) _refill = null;
                }
                throw;
            }
            lock (_lock)
            {
                if (_refill == refill)
                {
                    _refill = null;
                    _next = block.First;
                    _end = block.End;
                }
            }
        }
    }
}
